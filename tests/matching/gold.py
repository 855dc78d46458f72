"""The matchmaking gold set of issue 14: demands written as Zhengzhou enterprises write them,
each with the listings a technology broker would put in front of the enterprise, picked by
reading the demo catalogs (tests/search/judged.py's dataset: judged.SCALE, random seed 2019),
never by what the ranking returns.

Listings are named by what stays the same across runs and backends: a catalog item by its
partner ``external_id``, a service provider by its name (``test_gold_listings_exist`` checks
each names exactly one published listing). The demands themselves are written into the
seeded database by :func:`write_gold_demands`, owned by an enterprise of their own, with the
budget visible (so that an anonymous caller sees, and is ranked by, the budget fit).

Measures, per demand, over ``GET /v1/demands/{id}/matches?limit=20``:

- **precision@5**: picks among the first five, over min(5, number of picks) (a demand with
  two picks scores 1.0 when both lead);
- **recall@20**: picks among the first twenty, over the number of picks.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from statistics import fmean
from typing import Any

from httpx import AsyncClient

from app.core.calendar import utcnow
from app.core.db import Database, create_engine
from app.models.demands import DemandKind
from app.models.orgs import OrganizationKind
from app.schemas.orgs import OrganizationCreate
from app.services import demands as demands_service
from app.services import orgs as orgs_service
from tests import builders

TOP, DEEP = 5, 20
WAN = 1_000_000
"""10,000 yuan (万元) in fen."""

T, F, TA, S, C = (
    DemandKind.technology,
    DemandKind.financing,
    DemandKind.talent,
    DemandKind.service,
    DemandKind.challenge,
)
SHIELD, HARD = "盾构/隧道掘进装备", "超硬材料与磨料磨具"


@dataclass(frozen=True, slots=True)
class Gold:
    kind: DemandKind
    title: str
    description: str
    field: str | None
    budget: tuple[int, int] | None
    """In 万元 (10,000 yuan)."""
    picks: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.kind.value} «{self.title}»"


DEMANDS: tuple[Gold, ...] = (
    # --- 盾构/隧道掘进装备 ----------------------------------------------------------------
    Gold(
        T,
        "盾构机刀具磨损实时监测技术需求",
        "我司承建郑州地铁12号线，复合地层中盾构机刀盘刀具磨损快、换刀频繁，需引进刀具磨损在线"
        "检测技术，实现不停机掌握刀具磨损状态，减少开仓检查次数。",
        SHIELD,
        (100, 300),
        (
            "ENT001-TECH-000003",
            "SKLSTT-IP-000006",
            "SKLSTT-TECH-000005",
            "SKLSTT-TAL-000002",
            "SKLSTT-TAL-000003",
        ),
    ),
    Gold(
        T,
        "螺旋输送机故障诊断与在线监测",
        "公司生产的土压平衡盾构在城市综合管廊施工中螺旋输送机多次卡滞停机，希望与高校合作开发"
        "螺旋输送机故障诊断和在线监测技术。",
        SHIELD,
        (30, 100),
        (
            "ENT001-TECH-000002",
            "ENT001-TECH-000001",
            "SKLSTT-TECH-000001",
            "ENT001-IP-000002",
            "SKLSTT-IP-000004",
            "SKLSTT-IP-000007",
        ),
    ),
    Gold(
        T,
        "盾尾密封系统改进",
        "近期两个区间出现盾尾漏浆，盾尾密封容易失效，寻求盾尾密封系统结构改进及寿命预测技术。",
        SHIELD,
        (100, 500),
        ("SKLSTT-TECH-000004", "ENT001-IP-000001", "SKLSTT-TAL-000001"),
    ),
    Gold(
        T,
        "管片拼装机自动化改造",
        "现有管片拼装机依赖人工操作，管片拼装精度不足、错台多，拟对管片拼装机进行快速更换和"
        "自动拼装改造。",
        SHIELD,
        (200, 400),
        ("SKLSTT-TECH-000007", "SKLSTT-TAL-000003", "ENT001-TAL-000001"),
    ),
    Gold(
        T,
        "掘进姿态智能纠偏软件",
        "硬岩掘进机在长距离隧道中掘进姿态偏差大，纠偏依赖司机经验，需要掘进姿态智能控制与纠偏"
        "软件及相关专家指导。",
        SHIELD,
        (50, 150),
        (
            "SKLSTT-IP-000003",
            "SKLSTT-IP-000008",
            "ENT001-TAL-000001",
            "ENT001-TAL-000002",
            "SKLSTT-TAL-000001",
        ),
    ),
    Gold(
        C,
        "揭榜挂帅：盾构主驱动在线监测",
        "面向全国揭榜：盾构主驱动及主轴承运行状态在线监测，要求多传感器融合、提前预警主轴承"
        "故障，揭榜方须具备工程应用业绩。",
        SHIELD,
        (200, 1000),
        ("SKLSTT-TECH-000002", "SKLSTT-TAL-000001"),
    ),
    Gold(
        TA,
        "招聘盾构刀盘刀具设计专家",
        "公司拟设立刀盘研发中心，柔性引进盾构刀盘刀具设计方向专家，适应复杂地层。",
        SHIELD,
        None,
        ("SKLSTT-TAL-000002", "SKLSTT-TAL-000003"),
    ),
    # --- 超硬材料与磨料磨具 --------------------------------------------------------------
    Gold(
        T,
        "金刚石锯片寿命提升",
        "我厂生产石材切割用金刚石锯片，磨具使用寿命短、热稳定性差，希望引进金刚石锯片高效制备"
        "技术。",
        HARD,
        (500, 1000),
        ("ZZSM-TECH-000003", "ZZSM-IP-000012", "ZZSM-TAL-000003"),
    ),
    Gold(
        T,
        "CVD金刚石膜制备技术",
        "公司计划上马CVD金刚石膜项目，用于刀具涂层和石材加工，寻求化学气相沉积制备工艺及检测方法。",
        HARD,
        (800, 3000),
        (
            "ZZSM-TECH-000005",
            "ZZSM-IP-000004",
            "ZZSM-IP-000010",
            "ZZSM-IP-000011",
            "ZZSM-TAL-000001",
        ),
    ),
    Gold(
        T,
        "光伏硅片切割用金刚石线锯",
        "为光伏企业配套金刚石线锯，现有产品断线率高，寻求金刚石线锯高效制备和精密磨削技术。",
        HARD,
        (1000, 3000),
        ("ZZSM-TECH-000002", "ZZU-IP-000015", "ZZSM-TAL-000002", "ZZSM-TAL-000003"),
    ),
    Gold(
        T,
        "超硬刀具涂层与表面改性",
        "加工中心用超硬刀具磨损快，需要超硬刀具涂层处理和表面改性技术，最好能低温烧结。",
        HARD,
        (200, 1000),
        ("ZZSM-TECH-000001", "ZZSM-IP-000003", "ZZSM-IP-000007"),
    ),
    Gold(
        T,
        "陶瓷结合剂砂轮产品升级",
        "公司主营陶瓷结合剂砂轮和立方氮化硼砂轮，希望获得相关专利许可并改进冷却方式。",
        HARD,
        (50, 200),
        (
            "ENT002-IP-000003",
            "ENT002-IP-000001",
            "HAUT-IP-000004",
            "HAUT-IP-000012",
            "ZZSM-TAL-000002",
        ),
    ),
    # --- 集成电路、电子信息 --------------------------------------------------------------
    Gold(
        T,
        "5G射频前端芯片合作开发",
        "我司做5G小基站，射频前端芯片依赖进口，希望与研究所联合开发5G通信射频前端芯片。",
        "集成电路",
        (500, 2000),
        ("ENT003-TECH-000001", "CETC27-TECH-000005", "CETC27-TECH-000003", "CETC27-TECH-000006"),
    ),
    Gold(
        T,
        "低功耗模数转换器IP",
        "物联网终端需要低功耗模数转换器，功耗要降一半，寻求成熟设计或技术转让。",
        "集成电路",
        (1000, 2000),
        ("CETC27-TECH-000003", "CETC27-TECH-000006"),
    ),
    Gold(
        T,
        "MEMS压力传感器封装测试",
        "公司量产MEMS压力传感器，封装测试良率低，需要专利许可和封装测试方向专家支持。",
        "集成电路",
        (100, 300),
        (
            "CETC27-IP-000007",
            "ENT003-IP-000003",
            "CETC27-TAL-000001",
            "CETC27-TAL-000003",
            "ENT003-TAL-000001",
        ),
    ),
    Gold(
        T,
        "锁相环电路设计",
        "时钟芯片项目缺少锁相环电路设计能力，寻求锁相环电路相关专利转让。",
        "集成电路",
        (100, 500),
        ("CETC27-IP-000002", "CETC27-IP-000004"),
    ),
    Gold(
        T,
        "燃气泄漏监测用气体传感器",
        "我司为城市燃气公司提供安全监测设备，需要低功耗气体传感器及远程监控技术，满足燃气安全"
        "要求。",
        "电子信息",
        (100, 500),
        ("ZZULI-TECH-000001", "ZZU-IP-000019", "ZZU-IP-000021", "ZZULI-TECH-000008"),
    ),
    Gold(
        T,
        "物联网网关安全防护",
        "工业园区物联网网关频遭攻击，需要物联网网关安全防护与远程监控技术，兼顾信号处理。",
        "电子信息",
        (300, 1500),
        ("HNAS-TECH-000003", "CETC27-TECH-000002", "ZZU-IP-000017", "HNAS-TAL-000002"),
    ),
    Gold(
        T,
        "智能电表远程监控",
        "电力设备公司，希望升级智能电表的信号处理和远程监控功能，购买相关专利。",
        "电子信息",
        (50, 200),
        ("CETC27-IP-000001", "CETC27-IP-000003", "ZZU-IP-000018", "ZZU-IP-000001"),
    ),
    Gold(
        T,
        "窄带物联网视频监控系统",
        "交通路口视频监控终端功耗高，寻求基于窄带物联网的视频监控系统及安全防护方案。",
        "电子信息",
        (100, 600),
        ("ZZULI-TECH-000006", "ZZULI-TECH-000009", "ZZU-IP-000012"),
    ),
    Gold(
        T,
        "北斗定位终端低功耗",
        "燃气巡检用北斗定位终端续航短，需要北斗定位终端低功耗通信和数据采集技术。",
        "电子信息",
        (50, 500),
        ("CETC27-TECH-000004", "ZZULI-TECH-000008", "ZZULI-IP-000005"),
    ),
    # --- 新能源 ------------------------------------------------------------------------
    Gold(
        T,
        "储能电池热管理与安全预警",
        "我司建设电网侧储能电站，电池热失控风险大，需要电池管理系统热管理和安全预警技术。",
        "新能源",
        (500, 1000),
        ("ENT002-TECH-000001", "ZZULI-TECH-000004", "ENT002-TAL-000001", "ZZULI-TAL-000002"),
    ),
    Gold(
        T,
        "直流充电桩快速充电",
        "公交场站直流充电桩充电慢，需要快速充电装置专利及换电站方案。",
        "新能源",
        (50, 100),
        ("ENT002-IP-000002", "ZZULI-IP-000009", "ZZULI-TECH-000007"),
    ),
    Gold(
        TA,
        "锂离子电池研发带头人",
        "新能源企业引进锂离子电池方向研发带头人，兼顾储能系统。",
        "新能源",
        None,
        ("ENT002-TAL-000001", "ZZULI-TAL-000002"),
    ),
    # --- 新材料 ------------------------------------------------------------------------
    Gold(
        T,
        "石墨烯导热膜量产",
        "手机散热模组厂，需要石墨烯导热膜性能调控和量产技术，并有意购买相关专利。",
        "新材料",
        (500, 1500),
        (
            "ENT004-TECH-000001",
            "ZZU-TECH-000015",
            "ZZU-IP-000016",
            "ZZU-IP-000024",
            "ZZU-IP-000029",
            "HNAS-TAL-000001",
            "ZZU-TAL-000001",
        ),
    ),
    Gold(
        T,
        "铝基复合材料成型",
        "汽车零部件企业开发轻量化部件，需要铝基复合材料成型加工与性能调控技术。",
        "新材料",
        (300, 1000),
        (
            "HAUT-TECH-000008",
            "HNAS-TECH-000006",
            "ZZIET-TECH-000003",
            "HNAS-IP-000005",
            "ZZU-IP-000003",
            "ZZU-IP-000020",
            "ZZIET-TAL-000001",
        ),
    ),
    Gold(
        T,
        "氮化硅陶瓷基板",
        "电子封装用氮化硅陶瓷基板依赖进口，寻求氮化硅陶瓷低成本制备和成型加工技术。",
        "新材料",
        (300, 1000),
        ("HNAS-TECH-000001", "ZRIME-TECH-000001", "ZZU-TECH-000003", "HNAS-TAL-000003"),
    ),
    Gold(
        T,
        "镁碳耐火砖节能生产",
        "耐火材料厂生产镁碳耐火砖能耗高，需要连续化生产和低成本制备技术。",
        "新材料",
        (500, 1500),
        (
            "HAUT-TECH-000009",
            "ZZU-TECH-000013",
            "HNAS-IP-000008",
            "ZZU-IP-000009",
            "ENT004-TAL-000001",
        ),
    ),
    Gold(
        T,
        "聚氨酯弹性体改性",
        "我司生产聚氨酯弹性体密封件，耐温性不够，寻求改性处理和连续化生产技术。",
        "新材料",
        (100, 500),
        (
            "HNAS-TECH-000002",
            "ZZIET-TECH-000001",
            "ENT004-IP-000001",
            "HNAS-IP-000007",
            "ZZU-IP-000014",
        ),
    ),
    Gold(
        T,
        "碳纤维预浸料成型加工",
        "无人机机身需要碳纤维预浸料成型加工技术和管理软件。",
        "新材料",
        (300, 900),
        ("HNAS-TECH-000005", "HAUT-IP-000011", "ZZU-IP-000002", "ZZIET-IP-000002"),
    ),
    Gold(
        T,
        "可降解塑料制备",
        "包装企业转型生产可降解塑料，需要可降解塑料低成本制备及回收利用技术。",
        "新材料",
        (100, 300),
        ("HAUT-TECH-000004", "ZZIET-TECH-000004", "HAUT-IP-000001", "HAUT-IP-000008"),
    ),
    Gold(
        T,
        "高强钛合金连续化生产",
        "航空紧固件企业需要高强钛合金改性处理和连续化生产技术。",
        "新材料",
        (500, 2000),
        ("ENT004-IP-000003", "ZZIET-IP-000001", "ZZIET-IP-000003", "ZZU-IP-000023"),
    ),
    # --- 装备制造、智能制造 --------------------------------------------------------------
    Gold(
        T,
        "桥式起重机智能化改造",
        "我公司生产桥式起重机，客户要求远程运维和智能控制，需要相关技术和可靠性设计专家。",
        "装备制造",
        (100, 300),
        (
            "ZRIME-TECH-000003",
            "ZZU-TECH-000001",
            "ENT005-IP-000002",
            "HAUT-IP-000005",
            "ZZU-TAL-000004",
            "ZRIME-TAL-000001",
        ),
    ),
    Gold(
        T,
        "精密减速器国产化",
        "机器人关节用精密减速器依赖进口，需要轻量化设计和故障诊断技术。",
        "装备制造",
        (1000, 5000),
        ("ZRIME-TECH-000004", "ZZU-TECH-000011", "ZRIME-IP-000001"),
    ),
    Gold(
        T,
        "五轴数控机床远程运维",
        "机床厂为用户提供五轴数控机床远程运维服务，需要监测系统和数控机床方向专家。",
        "装备制造",
        (200, 300),
        ("ZZU-TECH-000008", "ZRIME-IP-000002", "ENT005-TAL-000001"),
    ),
    Gold(
        T,
        "矿用刮板输送机轻量化",
        "煤矿机械企业，矿用刮板输送机整机重量大，需要轻量化设计和防护技术以及矿山机械专家。",
        "装备制造",
        (100, 500),
        (
            "ZRIME-IP-000004",
            "ZRIME-IP-000005",
            "ZZU-TAL-000002",
            "ZZU-TAL-000004",
            "ENT005-TAL-000001",
        ),
    ),
    Gold(
        T,
        "协作机器人产线应用",
        "汽车零部件装配线引入协作机器人，需要协作机器人协同控制技术和工业机器人专家。",
        "智能制造",
        (200, 400),
        (
            "ZZULI-TECH-000003",
            "HNIMI-IP-000001",
            "HNIMI-IP-000004",
            "ZZULI-IP-000006",
            "HNIMI-TAL-000001",
        ),
    ),
    Gold(
        T,
        "焊接机器人路径规划",
        "钢结构焊接车间引入焊接机器人，需要路径规划和协同控制技术。",
        "智能制造",
        (100, 300),
        ("ZZULI-IP-000004", "ZZULI-IP-000007"),
    ),
    Gold(
        T,
        "智能仓储系统建设",
        "装备制造企业建设智能仓储系统，需要仓储路径规划技术和成熟系统。",
        "智能制造",
        (500, 1000),
        ("HNIMI-TECH-000004", "HNIMI-IP-000002", "HNIMI-IP-000003"),
    ),
    Gold(
        T,
        "数字化车间与数字孪生",
        "汽车制造企业建设数字化车间，要求数字孪生和质量追溯，需要技术和制造执行系统专家。",
        "智能制造",
        (100, 500),
        (
            "ZZULI-TECH-000002",
            "HNIMI-TECH-000002",
            "ZZULI-IP-000002",
            "ZZULI-TAL-000001",
            "ZZULI-TAL-000004",
        ),
    ),
    Gold(
        TA,
        "机器视觉检测工程师",
        "引进机器视觉检测方向专家，负责产线缺陷检测。",
        "智能制造",
        None,
        ("HNIMI-TAL-000001", "ZZULI-TAL-000001"),
    ),
    # --- 生物医药、人工智能、农业、环保 --------------------------------------------------
    Gold(
        T,
        "中药复方制剂质量控制",
        "中药企业需要中药复方制剂质量控制技术和制备工艺，提升质量标准。",
        "生物医药",
        (500, 2500),
        ("ZZU-TECH-000004", "ZZU-TECH-000009", "HNAS-IP-000003", "ZZULI-IP-000008"),
    ),
    Gold(
        T,
        "缓释微球制备工艺",
        "药企开发长效注射剂，需要缓释微球制备和质量控制技术。",
        "生物医药",
        (300, 1500),
        ("ENT006-TECH-000001", "ZZU-TECH-000010", "ZZU-IP-000031"),
    ),
    Gold(
        T,
        "体外诊断试剂盒稳定性",
        "体外诊断企业试剂盒稳定性差，寻求体外诊断试剂盒稳定性提升技术和专家。",
        "生物医药",
        (100, 500),
        ("ENT006-IP-000002", "HNAS-IP-000001", "ENT006-TAL-000001", "ZZU-TAL-000007"),
    ),
    Gold(
        T,
        "智能推荐引擎",
        "在线教育平台需要智能推荐引擎和知识抽取技术，提升推荐准确率。",
        "人工智能",
        (100, 200),
        ("ZZU-TECH-000005", "ZZU-TECH-000006", "ZZU-TECH-000007", "ZZU-IP-000010"),
    ),
    Gold(
        T,
        "医学影像辅助诊断系统",
        "医院信息化公司需要医学影像辅助诊断系统及语义理解技术。",
        "人工智能",
        (300, 1000),
        ("ZZU-IP-000025", "ZZU-IP-000027"),
    ),
    Gold(
        T,
        "智能灌溉与精准施肥",
        "农业合作社建设高标准农田，需要基于物联网监测的智能灌溉系统和精准施肥装置。",
        "现代农业",
        (100, 300),
        ("HAUT-TECH-000005", "HAUT-TECH-000006"),
    ),
    Gold(
        T,
        "果蔬保鲜储运",
        "冷链企业果蔬损耗大，需要果蔬保鲜剂和保鲜储运技术。",
        "现代农业",
        (200, 500),
        ("HAUT-TECH-000002", "HAUT-IP-000003", "HAUT-TECH-000003"),
    ),
    Gold(
        T,
        "农村污水处理设备在线监测",
        "环保公司运营农村污水处理设备，运行维护复杂，需要在线监测技术和工业废水处理专家。",
        "节能环保",
        (800, 4000),
        ("ZZIET-TECH-000002", "ZZIET-TAL-000002"),
    ),
    Gold(
        TA,
        "食品安全检测专家",
        "面粉加工企业引进食品安全检测方向专家。",
        "现代农业",
        None,
        ("HAUT-TAL-000002", "HAUT-TAL-000003"),
    ),
    # --- 融资 --------------------------------------------------------------------------
    Gold(
        F,
        "知识产权质押贷款500万元",
        "公司拥有发明专利8项，近期订单增加，需流动资金约500万元，希望办理知识产权质押贷款。",
        None,
        (300, 500),
        (
            "ABC-FP-003",
            "BOSC-FP-001",
            "CBHB-FP-001",
            "CGB-FP-002",
            "LYBANK-FP-002",
            "ZZRCB-FP-001",
            "HNAGG-FP-002",
            "ZYREG-FP-002",
            "ZZHTG-FP-002",
        ),
    ),
    Gold(
        F,
        "高新技术企业信用贷款",
        "我司为国家高新技术企业，申请高企贷用于研发投入，金额300万元左右。",
        None,
        (200, 300),
        ("BOC-FP-003", "CGB-FP-003", "HXB-FP-002", "SPDB-FP-001"),
    ),
    Gold(
        F,
        "设备购置融资",
        "新建生产线购买设备，申请设备按揭贷款约600万元。",
        None,
        (400, 600),
        ("CEB-FP-002", "HFB-FP-002", "HXB-FP-004", "LYBANK-FP-003", "PAB-FP-001", "ZYBANK-FP-003"),
    ),
    Gold(
        F,
        "首台套装备保险",
        "我司研制的首台（套）重大技术装备即将交付，需要首台套综合保险。",
        None,
        (1000, 2000),
        ("PAIC-FP-003", "PICC-FP-001"),
    ),
    Gold(
        F,
        "应收账款融资",
        "下游客户账期长，以应收账款质押融资300万元。",
        None,
        (200, 300),
        ("ABC-FP-002", "BOB-FP-001", "BOCOM-FP-001", "CZB-FP-002", "ZZRCB-FP-003"),
    ),
    Gold(
        F,
        "天使轮股权融资",
        "初创期硬科技企业，寻求天使投资，出让部分股权，融资额约800万元。",
        None,
        (600, 1000),
        ("HNSTI-FP-003", "ZYHTV-FP-004", "ZZHTI-FP-002"),
    ),
    Gold(
        F,
        "科技成果转化贷款",
        "承接高校科技成果进行中试和产业化，申请成果转化贷款。",
        None,
        (500, 1000),
        ("ABC-FP-004", "CCB-FP-001", "CIB-FP-001", "CITIC-FP-002", "CMBC-FP-001", "ZYBANK-FP-002"),
    ),
    # --- 服务 --------------------------------------------------------------------------
    Gold(
        S,
        "技术转移服务",
        "企业有意从高校引进成果，需要技术转移服务机构提供成果对接、评估和合同登记服务。",
        None,
        (5, 20),
        ("郑州创新资源共享服务有限公司", "郑州高新区技术转移服务中心"),
    ),
)


def identity(match: dict[str, Any]) -> str:
    """The stable name of a matched listing: its external id, or a provider's name."""
    item = match["item"]
    return str(item["name"] if match["type"] == "organizations" else item["external_id"])


@dataclass(frozen=True, slots=True)
class Measured:
    gold: Gold
    precision: float
    recall: float
    found: tuple[str, ...]


def measure(gold: Gold, found: Sequence[str]) -> Measured:
    picks = set(gold.picks)
    precision = len(picks & set(found[:TOP])) / min(TOP, len(picks))
    recall = len(picks & set(found[:DEEP])) / len(picks)
    return Measured(gold, precision, recall, tuple(found))


@dataclass(frozen=True, slots=True)
class Figures:
    precision_at_5: float
    recall_at_20: float
    demands: int


def figures(measured: Sequence[Measured]) -> Figures:
    return Figures(
        precision_at_5=fmean(m.precision for m in measured),
        recall_at_20=fmean(m.recall for m in measured),
        demands=len(measured),
    )


def report(measured: Sequence[Measured], *, worst: int = 8) -> str:
    result = figures(measured)
    lines = [
        f"matching over {result.demands} gold demands:"
        f" precision@{TOP} {result.precision_at_5:.3f}, recall@{DEEP} {result.recall_at_20:.3f}",
        f"worst {worst}:",
    ]
    for m in sorted(measured, key=lambda m: (m.precision + m.recall, m.gold.label))[:worst]:
        lines.append(f"  p {m.precision:.2f} r {m.recall:.2f}  {m.gold.label}")
        lines.append(f"      got: {', '.join(m.found[:8]) or '(nothing)'}")
    return "\n".join(lines)


async def write_gold_demands(url: str) -> list[uuid.UUID]:
    """The gold demands, opened in the seeded database at ``url`` by an enterprise of their
    own; their ids in the order of :data:`DEMANDS`."""
    database = Database(create_engine(url))
    operator = builders.principal()
    ids = []
    try:
        async with database.unit_of_work(write=True) as session:
            owner = await orgs_service.create_organization(
                session,
                principal=operator,
                data=OrganizationCreate(
                    name="金水区需求发布企业", kind=OrganizationKind.enterprise
                ),
            )
            await session.flush()
            for gold in DEMANDS:
                low, high = gold.budget or (None, None)
                values = {
                    "kind": gold.kind,
                    "title": gold.title,
                    "description": gold.description,
                    "field": gold.field,
                    "budget_min": low * WAN if low is not None else None,
                    "budget_max": high * WAN if high is not None else None,
                    "budget_visible": True,
                    "deadline": utcnow() + timedelta(days=365),
                    "reward": 100 * WAN if gold.kind is DemandKind.challenge else None,
                    "requirements": None,
                    "attachments": [],
                    "invited_only": False,
                    "tags": [],
                    "external_id": None,
                }
                demand = await demands_service.create_demand(
                    session, principal=operator, values=values, owner_id=owner.id
                )
                await demands_service.publish_demand(
                    session, principal=operator, demand_id=demand.id, if_match=None
                )
                ids.append(demand.id)
    finally:
        await database.dispose()
    return ids


async def measure_all(client: AsyncClient, ids: Sequence[uuid.UUID]) -> list[Measured]:
    """Every gold demand's matches, anonymously, measured."""
    measured = []
    for gold, demand_id in zip(DEMANDS, ids, strict=True):
        response = await client.get(f"/v1/demands/{demand_id}/matches", params={"limit": DEEP})
        response.raise_for_status()
        found = [identity(match) for match in response.json()["items"]]
        measured.append(measure(gold, found))
    return measured


async def unresolved(client: AsyncClient) -> list[str]:
    """Picks that do not name exactly one published listing a visitor sees."""
    named: dict[str, int] = {}
    for path in ("talents", "technologies", "ip-assets", "financial-products"):
        cursor: str | None = None
        while True:
            params = {"limit": "200"} | ({"cursor": cursor} if cursor else {})
            page = (await client.get(f"/v1/{path}", params=params)).json()
            for item in page["items"]:
                named[item["external_id"]] = named.get(item["external_id"], 0) + 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
    organizations = (
        await client.get("/v1/organizations", params={"kind": "service_provider", "limit": 100})
    ).json()
    for org in organizations.get("items", []):
        named[org["name"]] = named.get(org["name"], 0) + 1
    return [
        f"{gold.label}: {pick!r} names {named.get(pick, 0)}"
        for gold in DEMANDS
        for pick in gold.picks
        if named.get(pick, 0) != 1
    ]
