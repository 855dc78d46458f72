"""Chinese vocabulary of the demo dataset: the zone's fields, people's names, organizations.

Only words and short phrases live here; app/demo/text.py composes them into titles,
summaries and profiles, and app/demo/policies.py holds the policies' own words.
"""

from dataclasses import dataclass


def words(text: str) -> tuple[str, ...]:
    """Space-separated words as a tuple (vocabulary reads better as running text)."""
    return tuple(text.split())


def pairs(text: str) -> tuple[tuple[str, str], ...]:
    """Space-separated word pairs: "王 wang 李 li" → (("王", "wang"), ("李", "li"))."""
    items = text.split()
    return tuple(zip(items[::2], items[1::2], strict=True))


@dataclass(frozen=True, slots=True)
class FieldVocabulary:
    """The words of one of the zone's fields, enough to write titles and summaries."""

    name: str
    """As stored in the ``field`` columns, e.g. 超硬材料与磨料磨具."""
    short: str
    """As a tag and inside company names, e.g. 超硬材料."""
    research_fields: tuple[str, ...]
    objects: tuple[str, ...]
    """Things a technology makes or improves: 盾构机刀盘, 金刚石锯片…"""
    actions: tuple[str, ...]
    """What it does to them: 在线监测, 高效制备…"""
    techniques: tuple[str, ...]
    """How: 多传感器融合, 化学气相沉积…"""
    applications: tuple[str, ...]
    problems: tuple[str, ...]
    benefits: tuple[str, ...]
    """Measures that improve: 掘进效率, 使用寿命…"""
    tags: tuple[str, ...]
    brands: tuple[str, ...]
    """Words of company names in this field: 盾构装备, 超硬材料…"""


FIELDS: tuple[FieldVocabulary, ...] = (
    FieldVocabulary(
        name="盾构/隧道掘进装备",
        short="盾构装备",
        research_fields=words(
            "盾构刀盘刀具设计 掘进姿态智能控制 主驱动与主轴承 管片拼装与运输 复杂地层适应性 "
            "渣土改良 隧道施工监测 盾尾密封技术 岩机相互作用 掘进机再制造"
        ),
        objects=words(
            "盾构机刀盘 盘形滚刀 盾构主轴承 管片拼装机 盾尾密封系统 同步注浆系统 螺旋输送机 "
            "泥水分离系统 硬岩掘进机 矩形顶管机 刀具磨损检测装置 盾构主驱动"
        ),
        actions=words("在线监测 智能控制 故障诊断 寿命预测 优化设计 快速更换 自动拼装 姿态纠偏"),
        techniques=words(
            "多传感器融合 数字孪生 机器视觉 液压伺服控制 有限元仿真 声发射检测 深度学习"
        ),
        applications=words("城市地铁隧道 水利引水隧洞 城市综合管廊 铁路隧道 公路隧道 矿山巷道"),
        problems=words(
            "刀具磨损状态难以实时掌握 复杂地层掘进效率低 管片拼装精度不足 盾尾密封容易失效 "
            "主轴承使用寿命短 掘进姿态偏差大"
        ),
        benefits=words("掘进效率 刀具使用寿命 拼装精度 设备利用率 施工安全性"),
        tags=words("盾构 隧道 掘进机 TBM"),
        brands=words("盾构装备 隧道装备 掘进机械 重工机械"),
    ),
    FieldVocabulary(
        name="超硬材料与磨料磨具",
        short="超硬材料",
        research_fields=words(
            "人造金刚石合成 立方氮化硼制备 聚晶金刚石复合片 超硬磨具制造 精密磨削加工 金刚石线锯 "
            "陶瓷结合剂 CVD金刚石薄膜"
        ),
        objects=words(
            "聚晶金刚石复合片 立方氮化硼砂轮 金刚石锯片 金刚石线锯 陶瓷结合剂砂轮 树脂结合剂磨具 "
            "金刚石微粉 CVD金刚石膜 超硬刀具 六面顶压机"
        ),
        actions=words(
            "高效制备 表面改性 精密修整 低温烧结 均匀分散 高温高压合成 精密磨削 涂层处理"
        ),
        techniques=words("高温高压 化学气相沉积 真空钎焊 激光加工 放电等离子烧结 溶胶凝胶"),
        applications=words(
            "光伏硅片切割 汽车零部件加工 石油钻探 半导体晶圆加工 石材加工 精密模具制造"
        ),
        problems=words(
            "磨具使用寿命短 金刚石颗粒容易脱落 加工表面质量不稳定 合成成本居高不下 热稳定性差"
        ),
        benefits=words("磨削效率 使用寿命 耐磨性 产品合格率 热稳定性"),
        tags=words("金刚石 超硬材料 磨料磨具 砂轮"),
        brands=words("超硬材料 磨料磨具 金刚石 精密磨削"),
    ),
    FieldVocabulary(
        name="集成电路",
        short="集成电路",
        research_fields=words(
            "模拟集成电路设计 射频芯片设计 功率半导体器件 集成电路封装测试 MEMS传感器 存储芯片 "
            "EDA算法 第三代半导体"
        ),
        objects=words(
            "低功耗模数转换器 射频前端芯片 电源管理芯片 碳化硅功率器件 氮化镓器件 MEMS压力传感器 "
            "系统级封装模块 锁相环电路 图像传感器芯片 安全加密芯片"
        ),
        actions=words("电路设计 版图优化 封装测试 低功耗设计 可靠性测试 工艺优化 失效分析"),
        techniques=words("先进封装 异构集成 低噪声放大 亚阈值设计 硅通孔 可测试性设计"),
        applications=words("物联网终端 新能源汽车 智能电网 5G通信 工业控制 消费电子"),
        problems=words("芯片功耗偏高 关键芯片国产化率低 封装散热困难 信号噪声干扰严重 测试成本高"),
        benefits=words("转换精度 集成度 能效比 良品率 可靠性"),
        tags=words("芯片 集成电路 半导体"),
        brands=words("微电子 半导体 芯片科技 集成电路"),
    ),
    FieldVocabulary(
        name="新材料",
        short="新材料",
        research_fields=words(
            "高性能耐火材料 铝基复合材料 高分子功能材料 石墨烯材料 纳米材料 稀土功能材料 先进陶瓷 "
            "碳纤维复合材料"
        ),
        objects=words(
            "高纯氧化铝 镁碳耐火砖 铝基复合材料 石墨烯导热膜 聚氨酯弹性体 纳米二氧化钛 "
            "碳纤维预浸料 氮化硅陶瓷 高强钛合金 可降解塑料"
        ),
        actions=words("低成本制备 改性处理 连续化生产 性能调控 成型加工 回收利用"),
        techniques=words("溶胶凝胶法 原位聚合 粉末冶金 熔融共混 水热合成 增材制造"),
        applications=words("钢铁冶炼 航空航天 电子封装 新能源汽车 建筑节能 医疗器械"),
        problems=words("材料性能一致性差 制备工艺复杂 生产能耗高 高端产品依赖进口 使用寿命不足"),
        benefits=words("抗热震性能 强度 导热系数 成品率 使用寿命"),
        tags=words("新材料 耐火材料 复合材料 石墨烯"),
        brands=words("新材料 耐材 新型材料 复合材料"),
    ),
    FieldVocabulary(
        name="装备制造",
        short="装备制造",
        research_fields=words(
            "数控机床 工程机械 智能农机 矿山机械 起重运输机械 液压传动 高端轴承 机械动力学"
        ),
        objects=words(
            "五轴数控机床 液压支架 桥式起重机 矿用刮板输送机 大型齿轮箱 电液控制阀 精密减速器 "
            "客车底盘 小麦联合收获机 冷链物流装备"
        ),
        actions=words("结构优化 智能控制 可靠性设计 轻量化设计 故障诊断 远程运维"),
        techniques=words("拓扑优化 多体动力学仿真 工业物联网 电液伺服 模块化设计"),
        applications=words("煤矿开采 港口物流 农业生产 建筑施工 轨道交通"),
        problems=words("关键部件可靠性不高 设备能耗偏高 故障停机时间长 整机重量大 运维成本高"),
        benefits=words("加工精度 运行可靠性 作业效率 能耗水平 平均无故障时间"),
        tags=words("装备制造 机械 数控"),
        brands=words("重工 机械装备 机电设备 起重机械"),
    ),
    FieldVocabulary(
        name="生物医药",
        short="生物医药",
        research_fields=words(
            "创新药物研发 中药现代化 生物制剂 医疗器械 体外诊断 疫苗研发 基因检测 药物制剂"
        ),
        objects=words(
            "抗肿瘤小分子化合物 中药复方制剂 单克隆抗体 体外诊断试剂盒 医用敷料 可降解血管支架 "
            "缓释微球 核酸检测试剂 兽用疫苗 功能性食品"
        ),
        actions=words("制备工艺 质量控制 快速检测 提取纯化 靶向递送 稳定性提升"),
        techniques=words("高通量筛选 超临界萃取 基因工程 纳米载药 微流控 分子印迹"),
        applications=words("肿瘤治疗 心脑血管疾病防治 传染病检测 动物疫病防控 健康食品"),
        problems=words("有效成分含量低 检测周期长 药物生物利用度低 生产成本高 质量标准不统一"),
        benefits=words("检测灵敏度 有效成分收率 生物利用度 产品稳定性 生产效率"),
        tags=words("生物医药 医疗器械 中药 诊断试剂"),
        brands=words("生物科技 医药科技 生物工程 药业"),
    ),
    FieldVocabulary(
        name="电子信息",
        short="电子信息",
        research_fields=words(
            "光纤通信 信息安全 嵌入式系统 物联网 智能传感 北斗导航 大数据 工业互联网"
        ),
        objects=words(
            "气体传感器 光纤传感器 智能电表 物联网网关 北斗定位终端 工业控制器 视频监控系统 "
            "数据加密设备 智能卡 无线通信模块"
        ),
        actions=words("数据采集 远程监控 安全防护 精准定位 低功耗通信 信号处理"),
        techniques=words("窄带物联网 边缘计算 国产密码算法 区块链 云平台 卡尔曼滤波"),
        applications=words("智慧城市 燃气安全 智能电网 智慧交通 工业现场"),
        problems=words("数据传输可靠性差 终端功耗高 系统安全隐患多 定位精度不足 设备互联互通困难"),
        benefits=words("测量精度 通信距离 响应速度 系统安全性 待机时间"),
        tags=words("传感器 物联网 信息安全 北斗"),
        brands=words("信息技术 电子科技 传感技术 网络科技"),
    ),
    FieldVocabulary(
        name="新能源",
        short="新能源",
        research_fields=words(
            "锂离子电池 燃料电池 光伏发电 储能系统 氢能 动力电池管理 风力发电 充电设施"
        ),
        objects=words(
            "锂离子电池正极材料 氢燃料电池电堆 储能变流器 电池管理系统 光伏逆变器 直流充电桩 "
            "固态电解质 超级电容器 换电站"
        ),
        actions=words("高效转换 热管理 安全预警 容量均衡 梯次利用 快速充电"),
        techniques=words("固相合成 模型预测控制 宽禁带器件 液冷散热 大数据分析"),
        applications=words("新能源客车 电网储能 分布式光伏 氢能物流车 通信基站"),
        problems=words("电池循环寿命短 热失控风险高 能量转换效率低 充电时间长 低温性能差"),
        benefits=words("能量密度 循环寿命 转换效率 充电速度 安全性"),
        tags=words("新能源 锂电池 氢能 储能"),
        brands=words("新能源科技 电源技术 能源科技 储能技术"),
    ),
    FieldVocabulary(
        name="智能制造",
        short="智能制造",
        research_fields=words(
            "工业机器人 数字孪生 智能工厂 机器视觉检测 增材制造 柔性生产线 制造执行系统 工业软件"
        ),
        objects=words(
            "焊接机器人 视觉检测系统 自动化生产线 AGV搬运机器人 金属3D打印设备 智能仓储系统 "
            "协作机器人 数字化车间"
        ),
        actions=words("路径规划 缺陷检测 协同控制 柔性装配 质量追溯 生产调度"),
        techniques=words("数字孪生 深度学习 激光定位 5G专网 离散事件仿真"),
        applications=words("汽车制造 电子装配 食品包装 仓储物流 装备制造"),
        problems=words(
            "人工检测效率低 产线换型时间长 生产数据孤岛严重 产品质量难以追溯 设备综合效率低"
        ),
        benefits=words("生产效率 检测准确率 设备综合效率 交付周期 用工成本"),
        tags=words("智能制造 机器人 数字孪生"),
        brands=words("智能装备 自动化 机器人 智造科技"),
    ),
    FieldVocabulary(
        name="节能环保",
        short="节能环保",
        research_fields=words(
            "工业废水处理 大气污染治理 固体废物资源化 余热回收 土壤修复 环境监测 建筑节能 清洁生产"
        ),
        objects=words(
            "污水处理设备 脱硫脱硝装置 袋式除尘器 余热锅炉 污泥干化设备 VOCs治理装置 土壤修复药剂 "
            "空气质量监测站 餐厨垃圾处理设备"
        ),
        actions=words("资源化利用 高效处理 在线监测 节能改造 深度净化 无害化处置"),
        techniques=words("膜生物反应器 低温等离子体 催化氧化 热泵 微生物修复"),
        applications=words("化工园区 火电厂 城镇污水处理厂 钢铁企业 农村人居环境"),
        problems=words("处理成本高 二次污染风险大 排放指标不稳定 能源利用率低 运行维护复杂"),
        benefits=words("去除率 节能率 处理能力 运行成本 资源回收率"),
        tags=words("环保 节能 污水处理 大气治理"),
        brands=words("环保科技 环境工程 节能技术 环境科技"),
    ),
    FieldVocabulary(
        name="人工智能",
        short="人工智能",
        research_fields=words(
            "计算机视觉 自然语言处理 机器学习 知识图谱 智能语音 智能决策 边缘智能 类脑计算"
        ),
        objects=words(
            "人脸识别系统 智能问答系统 图像识别算法 智能推荐引擎 语音识别模块 自动驾驶感知系统 "
            "智能巡检机器人 医学影像辅助诊断系统"
        ),
        actions=words("目标检测 语义理解 模型压缩 异常识别 智能决策 知识抽取"),
        techniques=words("卷积神经网络 迁移学习 强化学习 预训练语言模型 联邦学习 图神经网络"),
        applications=words("智慧医疗 智慧安防 智能客服 智慧教育 工业质检"),
        problems=words("识别准确率不高 标注数据不足 模型计算量大 场景泛化能力弱 响应延迟高"),
        benefits=words("识别准确率 推理速度 召回率 部署成本 响应时间"),
        tags=words("人工智能 机器学习 计算机视觉"),
        brands=words("智能科技 人工智能 数据科技 智能信息"),
    ),
    FieldVocabulary(
        name="现代农业",
        short="现代农业",
        research_fields=words(
            "小麦育种 玉米栽培 粮食储藏 农产品加工 智慧农业 畜禽养殖 植物保护 食品安全检测"
        ),
        objects=words(
            "小麦新品种 玉米种子包衣剂 粮食储藏仓 智能灌溉系统 生物有机肥 农药残留检测卡 "
            "饲料添加剂 果蔬保鲜剂 面制品加工设备"
        ),
        actions=words("高产栽培 绿色防控 精准施肥 品质检测 保鲜储运 精深加工"),
        techniques=words("分子标记辅助育种 物联网监测 低温气调 生物发酵 近红外光谱"),
        applications=words("小麦主产区 设施农业 粮食仓储企业 规模化养殖场 食品加工企业"),
        problems=words(
            "粮食产后损失大 化肥农药用量偏高 农产品附加值低 病虫害防控难度大 品质检测手段落后"
        ),
        benefits=words("亩产 储粮品质 化肥利用率 检测效率 加工附加值"),
        tags=words("农业 粮食 育种 食品"),
        brands=words("农业科技 粮油机械 种业 食品科技"),
    ),
)

# --- people -----------------------------------------------------------------------------------

#: Common surnames with their pinyin, most frequent first (drawn with falling weights).
SURNAMES: tuple[tuple[str, str], ...] = pairs(
    "王 wang 李 li 张 zhang 刘 liu 陈 chen 杨 yang 赵 zhao 黄 huang 周 zhou 吴 wu 徐 xu 孙 sun "
    "胡 hu 朱 zhu 高 gao 林 lin 何 he 郭 guo 马 ma 罗 luo 梁 liang 宋 song 郑 zheng 谢 xie 韩 "
    "han 唐 tang 冯 feng 于 yu 董 dong 萧 xiao 程 cheng 曹 cao 袁 yuan 邓 deng 许 xu 傅 fu 沈 "
    "shen 曾 zeng 彭 peng 吕 lyu 苏 su 卢 lu 蒋 jiang 蔡 cai 贾 jia 丁 ding 魏 wei 薛 xue 叶 ye "
    "阎 yan 余 yu 潘 pan 杜 du 戴 dai 夏 xia 钟 zhong 汪 wang 田 tian 任 ren 姜 jiang 范 fan 方 "
    "fang 石 shi 姚 yao 谭 tan 廖 liao 邹 zou 熊 xiong 金 jin 陆 lu 郝 hao 孔 kong 白 bai 崔 cui "
    "康 kang 毛 mao 邱 qiu 秦 qin 江 jiang 史 shi 顾 gu 侯 hou 邵 shao 孟 meng 龙 long 万 wan 段 "
    "duan 雷 lei 钱 qian 汤 tang 尹 yin 黎 li 易 yi 常 chang 武 wu 乔 qiao 贺 he 赖 lai 龚 gong "
    "文 wen 申 shen 牛 niu 岳 yue 翟 zhai 靳 jin 楚 chu"
)

#: Characters of given names with their pinyin.
GIVEN_NAME_CHARACTERS: tuple[tuple[str, str], ...] = pairs(
    "伟 wei 芳 fang 娜 na 敏 min 静 jing 丽 li 强 qiang 磊 lei 军 jun 洋 yang 勇 yong 艳 yan 杰 "
    "jie 娟 juan 涛 tao 明 ming 超 chao 秀 xiu 霞 xia 平 ping 刚 gang 桂 gui 英 ying 华 hua 建 "
    "jian 国 guo 文 wen 辉 hui 鹏 peng 宇 yu 浩 hao 凯 kai 晨 chen 志 zhi 红 hong 玲 ling 斌 bin "
    "峰 feng 宏 hong 亮 liang 林 lin 博 bo 雪 xue 慧 hui 新 xin 永 yong 海 hai 春 chun 晓 xiao "
    "东 dong 彬 bin 俊 jun 帆 fan 婷 ting 瑞 rui 振 zhen 立 li 卫 wei 光 guang 云 yun 德 de 成 "
    "cheng 庆 qing 丹 dan 琳 lin 冬 dong 欣 xin 佳 jia 嘉 jia 泽 ze 哲 zhe 昊 hao 颖 ying 蕾 lei "
    "倩 qian 阳 yang 旭 xu 飞 fei 锋 feng 坤 kun 楠 nan 璐 lu 越 yue 岩 yan 松 song 利 li 中 "
    "zhong 兴 xing 学 xue 清 qing 宁 ning 彦 yan 梅 mei 萍 ping 莉 li 鑫 xin 思 si 远 yuan 正 "
    "zheng 良 liang"
)

#: Professional titles (职称) by kind of employer, with weights.
TITLES_BY_KIND: dict[str, tuple[tuple[str, int], ...]] = {
    "university": (
        ("教授", 30),
        ("副教授", 35),
        ("讲师", 14),
        ("研究员", 6),
        ("副研究员", 8),
        ("高级工程师", 7),
    ),
    "research_institute": (
        ("研究员", 24),
        ("副研究员", 30),
        ("正高级工程师", 12),
        ("高级工程师", 24),
        ("工程师", 10),
    ),
    "rnd_institution": (
        ("研究员", 20),
        ("副研究员", 25),
        ("正高级工程师", 15),
        ("高级工程师", 30),
        ("工程师", 10),
    ),
    "enterprise": (("正高级工程师", 15), ("高级工程师", 50), ("工程师", 35)),
}

SENIOR_TITLES = frozenset({"教授", "研究员", "正高级工程师"})

#: Honours a talent may carry as tags, with the share of senior people carrying each.
HONOURS: tuple[tuple[str, float], ...] = (
    ("博士生导师", 0.55),
    ("中原学者", 0.04),
    ("国务院特殊津贴专家", 0.05),
    ("河南省学术技术带头人", 0.12),
    ("郑州市科技领军人才", 0.08),
    ("国家杰出青年科学基金获得者", 0.02),
)

# --- organizations ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KnownOrganization:
    name: str
    code: str
    """ASCII abbreviation: external ids (ZZU-TECH-000123) and demo e-mail domains."""
    region: str
    fields: tuple[str, ...]
    """Short names of its main fields, most important first."""
    weight: float = 1.0
    """Relative size: how many talents, technologies and IP assets it lists."""
    website: str | None = None


ZHENGZHOU_HIGH_TECH_ZONE = "河南省郑州市高新技术产业开发区"

UNIVERSITIES: tuple[KnownOrganization, ...] = (
    KnownOrganization(
        "郑州大学",
        "ZZU",
        ZHENGZHOU_HIGH_TECH_ZONE,
        ("新材料", "生物医药", "电子信息", "人工智能", "装备制造", "超硬材料"),
        6.0,
        "https://www.zzu.edu.cn",
    ),
    KnownOrganization(
        "河南工业大学",
        "HAUT",
        ZHENGZHOU_HIGH_TECH_ZONE,
        ("现代农业", "装备制造", "新材料", "超硬材料"),
        3.0,
        "https://www.haut.edu.cn",
    ),
    KnownOrganization(
        "郑州轻工业大学",
        "ZZULI",
        ZHENGZHOU_HIGH_TECH_ZONE,
        ("电子信息", "智能制造", "生物医药", "新能源"),
        2.5,
        "https://www.zzuli.edu.cn",
    ),
    KnownOrganization(
        "河南农业大学",
        "HENAU",
        "河南省郑州市金水区",
        ("现代农业", "生物医药"),
        2.0,
        "https://www.henau.edu.cn",
    ),
    KnownOrganization(
        "华北水利水电大学",
        "NCWU",
        "河南省郑州市金水区",
        ("节能环保", "装备制造", "盾构装备"),
        1.8,
        "https://www.ncwu.edu.cn",
    ),
    KnownOrganization(
        "郑州航空工业管理学院",
        "ZUA",
        "河南省郑州市二七区",
        ("电子信息", "智能制造", "新材料"),
        1.3,
    ),
    KnownOrganization(
        "中原工学院", "ZUT", "河南省郑州市新郑市", ("新材料", "智能制造", "电子信息"), 1.3
    ),
    KnownOrganization("河南财经政法大学", "HUEL", "河南省郑州市金水区", ("人工智能",), 0.6),
    KnownOrganization("河南中医药大学", "HACTCM", "河南省郑州市金水区", ("生物医药",), 1.2),
    KnownOrganization("河南科技大学", "HAUST", "河南省洛阳市", ("装备制造", "新材料"), 1.6),
    KnownOrganization(
        "河南理工大学", "HPU", "河南省焦作市", ("装备制造", "节能环保", "盾构装备"), 1.5
    ),
    KnownOrganization("河南大学", "HENU", "河南省开封市", ("新材料", "生物医药", "人工智能"), 1.5),
    KnownOrganization("河南师范大学", "HTU", "河南省新乡市", ("新能源", "新材料"), 1.1),
    KnownOrganization("郑州科技学院", "ZIT", "河南省郑州市", ("智能制造", "电子信息"), 0.6),
    KnownOrganization("河南工程学院", "HAUE", "河南省郑州市", ("新材料", "节能环保"), 0.7),
    KnownOrganization("郑州工程技术学院", "ZZIT", "河南省郑州市", ("现代农业", "智能制造"), 0.6),
    KnownOrganization("郑州师范学院", "ZZNU", "河南省郑州市", ("人工智能",), 0.4),
    KnownOrganization("黄河科技学院", "HHSTU", "河南省郑州市", ("电子信息", "新能源"), 0.6),
    KnownOrganization("河南科技学院", "HIST", "河南省新乡市", ("现代农业", "生物医药"), 0.8),
    KnownOrganization("河南城建学院", "HNUUC", "河南省平顶山市", ("节能环保",), 0.6),
    KnownOrganization("洛阳理工学院", "LIT", "河南省洛阳市", ("新材料", "装备制造"), 0.7),
    KnownOrganization("南阳理工学院", "NYIST", "河南省南阳市", ("智能制造", "生物医药"), 0.6),
    KnownOrganization("安阳工学院", "AYIT", "河南省安阳市", ("装备制造", "新能源"), 0.5),
    KnownOrganization("许昌学院", "XCU", "河南省许昌市", ("新材料", "电子信息"), 0.5),
    KnownOrganization(
        "郑州铁路职业技术学院", "ZRIT", "河南省郑州市", ("装备制造", "盾构装备"), 0.4
    ),
    KnownOrganization("河南职业技术学院", "HNZJ", "河南省郑州市", ("智能制造",), 0.3),
    KnownOrganization("郑州电子信息职业技术学院", "ZZEIC", "河南省郑州市", ("电子信息",), 0.3),
    KnownOrganization("河南牧业经济学院", "HNUAHE", "河南省郑州市", ("现代农业",), 0.4),
    KnownOrganization("郑州西亚斯学院", "SIAS", "河南省郑州市新郑市", ("人工智能",), 0.3),
    KnownOrganization("郑州升达经贸管理学院", "SHENGDA", "河南省郑州市新郑市", ("电子信息",), 0.3),
)

RESEARCH_INSTITUTES: tuple[KnownOrganization, ...] = (
    KnownOrganization("盾构及掘进技术国家重点实验室", "SKLSTT", "河南省郑州市", ("盾构装备",), 2.5),
    KnownOrganization(
        "郑州磨料磨具磨削研究所",
        "ZZSM",
        ZHENGZHOU_HIGH_TECH_ZONE,
        ("超硬材料",),
        2.5,
    ),
    KnownOrganization(
        "河南省科学院", "HNAS", "河南省郑州市金水区", ("新材料", "生物医药", "电子信息"), 2.0
    ),
    KnownOrganization(
        "中国电子科技集团公司第二十七研究所",
        "CETC27",
        "河南省郑州市",
        ("电子信息", "集成电路"),
        1.5,
    ),
    KnownOrganization(
        "郑州机械研究所", "ZRIME", ZHENGZHOU_HIGH_TECH_ZONE, ("装备制造", "新材料"), 1.5
    ),
    KnownOrganization("河南省农业科学院", "HNAGRI", "河南省郑州市金水区", ("现代农业",), 2.0),
    KnownOrganization(
        "中国农业科学院郑州果树研究所", "ZFRI", "河南省郑州市管城回族区", ("现代农业",), 0.9
    ),
    KnownOrganization(
        "中国船舶重工集团公司第七一三研究所",
        "CSIC713",
        "河南省郑州市",
        ("装备制造", "智能制造"),
        1.0,
    ),
    KnownOrganization(
        "中国烟草总公司郑州烟草研究院",
        "ZTRI",
        ZHENGZHOU_HIGH_TECH_ZONE,
        ("现代农业", "生物医药"),
        0.8,
    ),
    KnownOrganization(
        "黄河水利科学研究院", "YRIHR", "河南省郑州市金水区", ("节能环保", "盾构装备"), 1.0
    ),
    KnownOrganization("机械工业第六设计研究院", "SIPPR", "河南省郑州市", ("智能制造",), 0.8),
    KnownOrganization("河南省化工研究所", "HNCHEM", "河南省郑州市", ("新材料",), 0.6),
    KnownOrganization(
        "河南省计量科学研究院", "HNMETRO", "河南省郑州市", ("电子信息", "集成电路"), 0.5
    ),
    KnownOrganization("河南省建筑科学研究院", "HNABR", "河南省郑州市", ("节能环保",), 0.6),
    KnownOrganization(
        "河南省科学院应用物理研究所", "HNAS-IAP", "河南省郑州市", ("电子信息", "新能源"), 0.6
    ),
    KnownOrganization("河南省科学院化学研究所", "HNAS-IC", "河南省郑州市", ("新材料",), 0.6),
    KnownOrganization("河南省科学院能源研究所", "HNAS-IE", "河南省郑州市", ("新能源",), 0.6),
    KnownOrganization("河南省科学院生物研究所", "HNAS-IB", "河南省郑州市", ("生物医药",), 0.6),
    KnownOrganization(
        "河南省科学院地理研究所", "HNAS-IG", "河南省郑州市", ("电子信息", "人工智能"), 0.4
    ),
    KnownOrganization(
        "河南省科学院同位素研究所", "HNAS-II", "河南省郑州市", ("生物医药", "现代农业"), 0.4
    ),
    KnownOrganization(
        "河南省农业科学院植物保护研究所", "HNAGRI-PP", "河南省郑州市", ("现代农业",), 0.5
    ),
    KnownOrganization(
        "河南省农业科学院小麦研究所", "HNAGRI-WH", "河南省郑州市", ("现代农业",), 0.6
    ),
)

#: Engineering research centres and key laboratories, named after a field (their fields).
RESEARCH_CENTRES: tuple[tuple[str, str], ...] = (
    ("河南省超硬材料工程技术研究中心", "超硬材料"),
    ("河南省盾构装备工程技术研究中心", "盾构装备"),
    ("河南省集成电路设计工程技术研究中心", "集成电路"),
    ("河南省新型耐火材料工程技术研究中心", "新材料"),
    ("河南省智能装备工程技术研究中心", "装备制造"),
    ("河南省生物医药工程技术研究中心", "生物医药"),
    ("河南省物联网工程技术研究中心", "电子信息"),
    ("河南省动力电池工程技术研究中心", "新能源"),
    ("河南省工业机器人工程技术研究中心", "智能制造"),
    ("河南省水污染控制工程技术研究中心", "节能环保"),
    ("河南省人工智能工程技术研究中心", "人工智能"),
    ("河南省粮食储藏工程技术研究中心", "现代农业"),
    ("郑州市隧道掘进装备重点实验室", "盾构装备"),
    ("郑州市金刚石精密加工重点实验室", "超硬材料"),
    ("郑州市功率半导体器件重点实验室", "集成电路"),
    ("郑州市先进陶瓷材料重点实验室", "新材料"),
    ("郑州市高端轴承重点实验室", "装备制造"),
    ("郑州市体外诊断试剂重点实验室", "生物医药"),
    ("郑州市智能传感重点实验室", "电子信息"),
    ("郑州市氢能与燃料电池重点实验室", "新能源"),
    ("郑州市机器视觉重点实验室", "智能制造"),
    ("郑州市固体废物资源化重点实验室", "节能环保"),
    ("郑州市计算机视觉重点实验室", "人工智能"),
    ("郑州市农产品加工重点实验室", "现代农业"),
    ("河南省激光加工工程技术研究中心", "智能制造"),
    ("河南省北斗导航应用工程技术研究中心", "电子信息"),
    ("河南省高性能铝合金工程技术研究中心", "新材料"),
    ("河南省医用材料工程技术研究中心", "生物医药"),
)

#: New-type R&D institutions (新型研发机构): research organizations outside the 75.
RND_INSTITUTIONS: tuple[KnownOrganization, ...] = (
    KnownOrganization(
        "郑州中科新兴产业技术研究院",
        "ZZIET",
        ZHENGZHOU_HIGH_TECH_ZONE,
        ("新材料", "节能环保"),
        1.0,
    ),
    KnownOrganization(
        "河南省智能制造产业研究院",
        "HNIMI",
        ZHENGZHOU_HIGH_TECH_ZONE,
        ("智能制造", "人工智能"),
        0.8,
    ),
)

ZONE_ADMINISTRATION = KnownOrganization(
    "郑州高新技术产业开发区管理委员会", "ZZHTZ", ZHENGZHOU_HIGH_TECH_ZONE, ()
)
MARKETPLACE_OPERATOR = KnownOrganization(
    "郑州创新资源共享服务有限公司", "OPERATOR", ZHENGZHOU_HIGH_TECH_ZONE, ()
)
SERVICE_PROVIDERS: tuple[KnownOrganization, ...] = (
    KnownOrganization("郑州高新区技术转移服务中心", "ZZTT", ZHENGZHOU_HIGH_TECH_ZONE, ()),
)


@dataclass(frozen=True, slots=True)
class FinancialInstitution:
    name: str
    code: str
    short: str
    """The brand in product names: 工行科技贷."""
    kind: str
    """bank, guarantee, insurance or investment: which products it offers."""


FINANCIAL_INSTITUTIONS: tuple[FinancialInstitution, ...] = (
    FinancialInstitution("中国工商银行郑州高新技术开发区支行", "ICBC", "工行", "bank"),
    FinancialInstitution("郑州银行高新区支行", "ZZBANK", "郑银", "bank"),
    FinancialInstitution("河南省中小企业担保集团股份有限公司", "HNSMEG", "中小担", "guarantee"),
    FinancialInstitution(
        "中国人民财产保险股份有限公司郑州市分公司", "PICC", "人保财险", "insurance"
    ),
    FinancialInstitution("中国建设银行郑州高新区支行", "CCB", "建行", "bank"),
    FinancialInstitution("中原科创风险投资基金", "ZYVC", "中原科创", "investment"),
    FinancialInstitution("中国银行郑州高新技术开发区支行", "BOC", "中行", "bank"),
    FinancialInstitution("中国农业银行郑州高新区支行", "ABC", "农行", "bank"),
    FinancialInstitution("交通银行郑州高新区支行", "BOCOM", "交行", "bank"),
    FinancialInstitution("中国邮政储蓄银行郑州市高新区支行", "PSBC", "邮储", "bank"),
    FinancialInstitution("招商银行郑州高新区支行", "CMB", "招行", "bank"),
    FinancialInstitution("中信银行郑州高新区支行", "CITIC", "中信", "bank"),
    FinancialInstitution("上海浦东发展银行郑州高新区支行", "SPDB", "浦发", "bank"),
    FinancialInstitution("兴业银行郑州高新区支行", "CIB", "兴业", "bank"),
    FinancialInstitution("中国民生银行郑州高新区支行", "CMBC", "民生", "bank"),
    FinancialInstitution("中国光大银行郑州高新区支行", "CEB", "光大", "bank"),
    FinancialInstitution("华夏银行郑州高新区支行", "HXB", "华夏", "bank"),
    FinancialInstitution("平安银行郑州高新区支行", "PAB", "平安", "bank"),
    FinancialInstitution("广发银行郑州高新区支行", "CGB", "广发", "bank"),
    FinancialInstitution("中原银行郑州高新区支行", "ZYBANK", "中原银行", "bank"),
    FinancialInstitution("郑州农村商业银行高新区支行", "ZZRCB", "郑州农商", "bank"),
    FinancialInstitution("北京银行郑州分行", "BOB", "北京银行", "bank"),
    FinancialInstitution("上海银行郑州分行", "BOSC", "上海银行", "bank"),
    FinancialInstitution("渤海银行郑州分行", "CBHB", "渤海", "bank"),
    FinancialInstitution("浙商银行郑州分行", "CZB", "浙商", "bank"),
    FinancialInstitution("洛阳银行郑州分行", "LYBANK", "洛银", "bank"),
    FinancialInstitution("恒丰银行郑州分行", "HFB", "恒丰", "bank"),
    FinancialInstitution("国家开发银行河南省分行", "CDB", "国开行", "bank"),
    FinancialInstitution("郑州市中小企业担保有限公司", "ZZSMEG", "郑州中小担", "guarantee"),
    FinancialInstitution("中原再担保集团股份有限公司", "ZYREG", "中原再担保", "guarantee"),
    FinancialInstitution("郑州高新区科技融资担保有限公司", "ZZHTG", "高新科担", "guarantee"),
    FinancialInstitution("河南省农业信贷担保有限责任公司", "HNAGG", "农担", "guarantee"),
    FinancialInstitution("中国太平洋财产保险股份有限公司河南分公司", "CPIC", "太保", "insurance"),
    FinancialInstitution("中国平安财产保险股份有限公司河南分公司", "PAIC", "平安产险", "insurance"),
    FinancialInstitution(
        "中国人寿财产保险股份有限公司河南省分公司", "CLPC", "国寿财险", "insurance"
    ),
    FinancialInstitution("河南省科技投资有限公司", "HNSTI", "豫科投", "investment"),
    FinancialInstitution("郑州高新区科技创新投资有限公司", "ZZHTI", "高新科投", "investment"),
    FinancialInstitution("中原证券股份有限公司", "CCNEW", "中原证券", "investment"),
    FinancialInstitution("河南中原高新技术创业投资有限公司", "ZYHTV", "中原创投", "investment"),
    FinancialInstitution("郑州市创业投资引导基金", "ZZVCGF", "郑州引导基金", "investment"),
)

#: Words of enterprise names (郑州 + brand + field word + suffix).
ENTERPRISE_BRANDS: tuple[str, ...] = words(
    "恒达 中科 宏图 华信 瑞泰 众诚 博远 新航 金源 德润 天润 豫坤 嵩岳 中原 黄河 绿源 正和 华创 "
    "鼎盛 卓越 明泰 凯盛 东方 亿诚 科达 汇智 鸿运 昊天 捷安 智联 锐新 启明 安泰 中鼎 融通 精诚 "
    "立达 普华 永安 振宇"
)

ENTERPRISE_PLACES: tuple[str, ...] = ("郑州", "郑州", "郑州", "河南", "河南省")
ENTERPRISE_SUFFIXES: tuple[str, ...] = ("有限公司", "有限公司", "股份有限公司", "有限责任公司")

#: Administrative divisions (for credit codes) and the region text that goes with each.
ZHENGZHOU_DISTRICTS: tuple[tuple[str, str], ...] = (
    ("410100", ZHENGZHOU_HIGH_TECH_ZONE),
    ("410100", ZHENGZHOU_HIGH_TECH_ZONE),
    ("410100", ZHENGZHOU_HIGH_TECH_ZONE),
    ("410105", "河南省郑州市金水区"),
    ("410102", "河南省郑州市中原区"),
    ("410103", "河南省郑州市二七区"),
    ("410108", "河南省郑州市惠济区"),
    ("410104", "河南省郑州市管城回族区"),
)

#: Division codes of the cities named in regions (credit codes of public institutions).
CITY_DIVISIONS: dict[str, str] = {
    "郑州": "410100",
    "开封": "410200",
    "洛阳": "410300",
    "平顶山": "410400",
    "安阳": "410500",
    "新乡": "410700",
    "焦作": "410800",
    "许昌": "411000",
    "南阳": "411300",
}

# --- financial products ----------------------------------------------------------------------

FINANCIAL_PRODUCTS_BY_INSTITUTION: dict[str, tuple[tuple[str, str], ...]] = {
    "bank": (
        ("科技贷", "sci_tech_credit"),
        ("科创贷", "sci_tech_credit"),
        ("知识产权质押贷", "sci_tech_credit"),
        ("人才贷", "sci_tech_credit"),
        ("研发贷", "sci_tech_credit"),
        ("高企贷", "sci_tech_credit"),
        ("成果转化贷", "sci_tech_credit"),
        ("税易贷", "loan"),
        ("流动资金贷款", "loan"),
        ("设备按揭贷", "loan"),
        ("订单贷", "loan"),
        ("小微快贷", "loan"),
        ("复工复产专项贷款", "loan"),
        ("应收账款质押贷", "loan"),
    ),
    "guarantee": (
        ("科技融资担保", "guarantee"),
        ("知识产权质押融资担保", "guarantee"),
        ("创业担保", "guarantee"),
        ("中小企业融资担保", "guarantee"),
        ("履约保函", "guarantee"),
    ),
    "insurance": (
        ("科技保险", "insurance"),
        ("首台（套）重大技术装备综合保险", "insurance"),
        ("专利执行保险", "insurance"),
        ("小额贷款保证保险", "insurance"),
        ("研发费用损失保险", "insurance"),
        ("关键研发设备保险", "insurance"),
    ),
    "investment": (
        ("天使投资", "equity"),
        ("创业投资", "equity"),
        ("成长期股权投资", "equity"),
        ("产业引导基金", "equity"),
        ("投贷联动", "equity"),
    ),
}

FINANCIAL_KIND_NAMES = {
    "loan": "贷款",
    "sci_tech_credit": "科技信贷",
    "equity": "股权投资",
    "guarantee": "融资担保",
    "insurance": "科技保险",
}

# --- IP assets ------------------------------------------------------------------------------

IP_KIND_NAMES = {
    "invention_patent": "发明专利",
    "utility_model": "实用新型",
    "design_patent": "外观设计",
    "trademark": "商标",
    "copyright": "作品著作权",
    "software_copyright": "软件著作权",
}
DESIGN_VARIANTS = ("A型", "B型", "标准型", "紧凑型", "便携式", "壁挂式", "落地式")
WORK_KINDS = (("结构示意图", "L"), ("产品宣传画册", "F"), ("科普手册", "A"), ("标识设计", "F"))
TRADEMARK_CLASSES = (1, 3, 5, 7, 9, 11, 12, 29, 30, 31, 35, 37, 40, 42)

# --- deals ----------------------------------------------------------------------------------

#: The five kinds of technology contract (技术合同), by ContractCategory value.
CONTRACT_NAMES = {
    "development": "技术开发合同",
    "transfer": "技术转让合同",
    "license": "技术许可合同",
    "consulting": "技术咨询合同",
    "service": "技术服务合同",
}
#: What a contract of each kind is called after the technology's name.
CONTRACT_TITLE_ENDINGS = {
    "development": ("委托开发", "合作开发", "二次开发", "工程化开发"),
    "transfer": ("技术转让", "专利权转让", "专利申请权转让", "技术秘密转让"),
    "license": ("专利实施许可", "技术秘密许可", "普通实施许可", "独占实施许可"),
    "consulting": ("产业化可行性论证", "技术路线咨询", "专题技术调查", "技术评价咨询"),
    "service": ("技术服务", "工艺优化技术服务", "检测分析技术服务", "技术培训与指导"),
}
#: Payment stages (结算节点) of a contract paid by milestone, in order.
CONTRACT_STAGES = {
    "development": ("需求分析与方案设计", "样机研制", "中试验证", "验收交付"),
    "transfer": ("技术资料交付", "工艺调试与人员培训", "权属变更登记", "达产验收"),
    "license": ("许可资料交付", "实施验收"),
    "consulting": ("现场调研", "咨询报告评审"),
    "service": ("现场技术服务", "服务成果验收"),
}

# --- demands ----------------------------------------------------------------------------------

#: A demand's kind as a tag and in running text, by DemandKind value.
DEMAND_KIND_NAMES = {
    "technology": "技术需求",
    "financing": "融资需求",
    "talent": "人才需求",
    "service": "服务需求",
    "challenge": "揭榜挂帅",
}
#: How an enterprise would like to work with whoever solves its technology demand.
COOPERATION_MODES = words("委托开发 合作开发 技术转让 专利许可 技术入股")
#: Services enterprises buy from institutes and service firms, besides their field's tests.
GENERAL_SERVICES = words(
    "高新技术企业认定辅导 知识产权贯标 专利布局与挖掘 科技项目申报辅导 研发费用加计扣除辅导 "
    "技术合同认定登记代理 科技成果评价 产品检测认证"
)
#: Degrees asked of the people a talent demand seeks.
DEGREES = ("博士研究生", "硕士研究生及以上", "本科及以上")
#: What a financing demand offers as security.
COLLATERALS = words("知识产权质押 应收账款质押 设备抵押 股权质押 第三方担保 信用方式")
CANCEL_REASONS = (
    "企业经营计划调整，项目暂缓实施。",
    "已通过其他渠道解决，取消本次需求。",
    "需求内容需重新论证，修改后另行发布。",
    "年度预算调整，本需求暂停。",
)
UNSUCCESSFUL_REASONS = (
    "应征方案均未达到技术指标要求。",
    "应征报价均超出项目预算。",
    "应征方案实施周期不能满足生产计划。",
)
HIDDEN_REASONS = (
    "重复发布（与本单位另一需求内容相同）。",
    "需求内容包含广告信息，已隐藏。",
    "需求内容与平台服务范围无关。",
)
#: Clarifying questions any bidder may ask, each with the owner's answer.
GENERAL_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("是否接受联合体共同应征？", "接受，联合体各方须在方案中明确分工，由牵头单位提交方案。"),
    ("预算是否包含设备购置和材料费用？", "预算包含方案实施所需的全部费用（含税）。"),
    ("能否安排现场调研？", "可以，请通过平台留言预约，工作日均可安排技术人员陪同。"),
    ("对知识产权归属有何要求？", "合作产生的知识产权归双方共有，我方享有优先实施权。"),
    ("付款方式如何安排？", "通过平台托管支付，按里程碑验收后分期结算。"),
    ("截止时间能否延后？", "暂不延期，如有调整将在平台统一发布。"),
    ("是否需要提供资质证明材料？", "请在方案附件中提供单位资质和近三年类似项目业绩。"),
)
QUESTIONS_BY_KIND: dict[str, tuple[tuple[str, str], ...]] = {
    "technology": (
        ("现有设备的型号和运行参数能否提供？", "可在签署保密协议后提供详细参数。"),
        ("技术指标是否需要第三方检测验证？", "需要，验收以具有资质的第三方检测报告为准。"),
    ),
    "challenge": (
        ("揭榜方是否必须为河南省内单位？", "不限地域，国内具有相应研发能力的单位均可揭榜。"),
        ("奖励资金如何拨付？", "签订揭榜协议后拨付30%，通过验收后拨付其余部分。"),
    ),
    "service": (
        ("服务周期是否可以分阶段实施？", "可以，请在方案中列明各阶段的工作内容和时间安排。"),
    ),
    "talent": (
        ("是否接受兼职或项目合作方式？", "接受，柔性引进的专家可按项目周期开展合作。"),
        ("工作地点是否在郑州？", "工作地点在郑州高新区，可提供人才公寓。"),
    ),
    "financing": (
        ("企业近两年的财务报表能否提供？", "可以，经审计的财务报表将在尽职调查阶段提供。"),
        ("融资资金的具体用途是什么？", "主要用于生产线扩建和研发设备购置。"),
    ),
}
