"""Policies of the demo dataset: their issuers, document numbers and texts, and the section
that writes them.

The policy catalog is the big one (100,000 rows at the seed scale), so its rows are written in
two steps. The seeding process decides each policy's *head* in one sequential pass over its
random generator: level, issuer, dates and a 文号 unique among all policies. The text of a
chunk of heads is then written by :func:`write_policies` from a generator seeded for that
chunk alone, so chunks can be written in another process while the seeding process inserts
the previous ones (:class:`PolicyRows`), and the result does not depend on where a chunk was
written.
"""

import asyncio
import itertools
import random
import uuid
from collections import deque
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from multiprocessing import get_context
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import bulk
from app.demo.corpus import FIELDS
from app.demo.plan import SeedScale, statuses, timeline
from app.demo.rows import Progress
from app.demo.text import new_id
from app.models.catalog import CatalogStatus
from app.models.policies import Policy, PolicyLevel
from app.services import policies as policies_service
from app.services.catalog import imported_row

POLICY_CHUNK = 4000
#: Above this many policies their text is written by a worker process while rows go in.
PARALLEL_POLICIES = 20_000


@dataclass(frozen=True, slots=True)
class Authority:
    name: str
    place: str
    """How its texts name where they apply: 河南省, 郑州市, 郑州高新区; empty for the state."""
    prefixes: tuple[str, ...]
    """Prefixes of its document numbers: 国科发区 in 国科发区〔2020〕35号."""
    serials: int
    """Roughly how many documents of one prefix it numbers in a year."""
    weight: float = 1.0


def _city(city: str, short: str, weight: float) -> tuple[Authority, ...]:
    """A Henan city's government, its general office and its science and technology bureau."""
    return (
        Authority(f"{city}人民政府", city, (f"{short}政", f"{short}政文"), 80, weight),
        Authority(f"{city}人民政府办公室", city, (f"{short}政办",), 150, weight),
        Authority(f"{city}科学技术局", city, (f"{short}科",), 120, weight),
    )


def _zone(name: str, place: str, short: str, weight: float) -> tuple[Authority, ...]:
    """A development zone's administrative committee and its general office."""
    return (
        Authority(
            f"{name}管理委员会", place, (f"{short}管", f"{short}管文", f"{short}管函"), 200, weight
        ),
        Authority(
            f"{name}管理委员会办公室", place, (f"{short}管办", f"{short}管办文"), 200, weight
        ),
    )


AUTHORITIES: dict[PolicyLevel, tuple[Authority, ...]] = {
    PolicyLevel.national: (
        Authority("国务院", "", ("国发", "国函"), 60, 1.0),
        Authority("国务院办公厅", "", ("国办发", "国办函"), 120, 1.2),
        Authority("科学技术部", "", ("国科发区", "国科发政", "国科发资", "国科发火"), 300, 2.5),
        Authority("财政部", "", ("财教", "财税", "财建"), 400, 1.5),
        Authority("国家发展和改革委员会", "", ("发改高技", "发改办高技"), 300, 1.0),
        Authority("工业和信息化部", "", ("工信部科", "工信部企业"), 250, 1.0),
        Authority("国家知识产权局", "", ("国知发管字", "国知发运字", "国知发保字"), 60, 1.0),
        Authority("教育部", "", ("教技", "教科技"), 40, 0.5),
        Authority("人力资源和社会保障部", "", ("人社部发", "人社部函"), 150, 0.6),
        Authority("国家税务总局", "", ("税总发", "税总函"), 200, 0.8),
        Authority("中国人民银行", "", ("银发",), 300, 0.5),
        Authority("中国银行保险监督管理委员会", "", ("银保监发", "银保监办发"), 120, 0.4),
    ),
    PolicyLevel.provincial: (
        Authority("河南省人民政府", "河南省", ("豫政", "豫政文"), 80, 1.0),
        Authority("河南省人民政府办公厅", "河南省", ("豫政办", "豫政办明电"), 150, 1.5),
        Authority("河南省科学技术厅", "河南省", ("豫科", "豫科高", "豫科成", "豫科平"), 200, 2.5),
        Authority("河南省财政厅", "河南省", ("豫财科", "豫财教", "豫财税"), 250, 1.2),
        Authority("河南省发展和改革委员会", "河南省", ("豫发改高技", "豫发改工业"), 250, 0.8),
        Authority("河南省工业和信息化厅", "河南省", ("豫工信", "豫工信科"), 200, 1.0),
        Authority("河南省人力资源和社会保障厅", "河南省", ("豫人社", "豫人社办"), 150, 0.7),
        Authority("河南省市场监督管理局", "河南省", ("豫市监", "豫知"), 150, 0.8),
        Authority("河南省地方金融监督管理局", "河南省", ("豫金监",), 80, 0.5),
        Authority("河南省教育厅", "河南省", ("教科技",), 100, 0.4),
        Authority("国家税务总局河南省税务局", "河南省", ("豫税发", "豫税函"), 120, 0.6),
    ),
    PolicyLevel.municipal: (
        Authority("郑州市人民政府", "郑州市", ("郑政", "郑政文"), 80, 1.2),
        Authority("郑州市人民政府办公厅", "郑州市", ("郑政办", "郑政办文"), 150, 1.5),
        Authority("郑州市科学技术局", "郑州市", ("郑科", "郑科高", "郑科成"), 150, 2.5),
        Authority("郑州市财政局", "郑州市", ("郑财", "郑财科"), 200, 1.2),
        Authority("郑州市发展和改革委员会", "郑州市", ("郑发改", "郑发改高技"), 200, 0.8),
        Authority("郑州市工业和信息化局", "郑州市", ("郑工信",), 150, 1.0),
        Authority("郑州市人力资源和社会保障局", "郑州市", ("郑人社",), 120, 0.8),
        Authority("郑州市市场监督管理局", "郑州市", ("郑市监",), 120, 0.7),
        Authority("郑州市地方金融监督管理局", "郑州市", ("郑金",), 60, 0.5),
        *_city("洛阳市", "洛", 0.4),
        *_city("新乡市", "新", 0.3),
        *_city("开封市", "汴", 0.2),
        *_city("许昌市", "许", 0.2),
        *_city("南阳市", "宛", 0.2),
        *_city("平顶山市", "平", 0.15),
        *_city("焦作市", "焦", 0.15),
        *_city("安阳市", "安", 0.15),
    ),
    PolicyLevel.district: (
        *_zone("郑州高新技术产业开发区", "郑州高新区", "郑开", 1.5),
        Authority("郑州高新区科技局", "郑州高新区", ("郑开科", "郑开科文"), 250, 1.2),
        Authority("郑州高新区财政局", "郑州高新区", ("郑开财", "郑开财文"), 200, 0.8),
        Authority("郑州高新区经济发展局", "郑州高新区", ("郑开经", "郑开经文"), 200, 0.8),
        Authority("郑州高新区人力资源和社会保障局", "郑州高新区", ("郑开人社",), 200, 0.6),
        Authority("郑州高新区市场监督管理局", "郑州高新区", ("郑开市监",), 200, 0.6),
        Authority("郑州高新区企业服务局", "郑州高新区", ("郑开企服",), 200, 0.6),
        *_zone("郑州经济技术开发区", "郑州经开区", "郑经", 0.8),
        *_zone("郑东新区", "郑东新区", "郑东", 0.7),
        *_zone("郑州航空港经济综合实验区", "郑州航空港区", "郑港", 0.7),
        *_zone("洛阳高新技术产业开发区", "洛阳高新区", "洛高", 0.5),
        *_zone("新乡高新技术产业开发区", "新乡高新区", "新高", 0.4),
        *_zone("安阳高新技术产业开发区", "安阳高新区", "安高", 0.3),
        *_zone("南阳高新技术产业开发区", "南阳高新区", "宛高", 0.3),
        *_zone("平顶山高新技术产业开发区", "平顶山高新区", "平高", 0.2),
        *_zone("焦作高新技术产业开发区", "焦作高新区", "焦高", 0.2),
        Authority("郑州市金水区人民政府", "金水区", ("金政", "金政办"), 200, 0.5),
        Authority("郑州市中原区人民政府", "中原区", ("中政", "中政办"), 200, 0.4),
        Authority("郑州市二七区人民政府", "二七区", ("二七政", "二七政办"), 200, 0.3),
        Authority("郑州市惠济区人民政府", "惠济区", ("惠政", "惠政办"), 200, 0.3),
    ),
}

#: Levels and their shares of the catalog.
LEVEL_WEIGHTS: tuple[tuple[PolicyLevel, int], ...] = (
    (PolicyLevel.national, 10),
    (PolicyLevel.provincial, 20),
    (PolicyLevel.municipal, 30),
    (PolicyLevel.district, 40),
)
LEVEL_NAMES = {
    PolicyLevel.national: "国家级",
    PolicyLevel.provincial: "省级",
    PolicyLevel.municipal: "市级",
    PolicyLevel.district: "区级",
}

#: Categories and the topics their policies are about.
TOPICS: dict[str, tuple[str, ...]] = {
    "科技创新": (
        "高新技术企业培育",
        "企业研发投入后补助",
        "新型研发机构建设",
        "重大科技专项",
        "科技创新平台建设",
        "产学研协同创新",
        "首台（套）重大技术装备推广应用",
        "企业研发中心建设",
        "科技型中小企业评价",
        "国家自主创新示范区建设",
    ),
    "成果转化": (
        "科技成果转移转化",
        "技术转移示范机构建设",
        "技术市场发展",
        "科技成果转化收益分配",
        "技术合同认定登记",
        "中试基地建设",
        "概念验证中心建设",
    ),
    "人才引进": (
        "高层次人才引进",
        "青年创新人才培养",
        "博士后科研工作站建设",
        "创新创业团队引进",
        "人才公寓保障",
        "柔性引才",
        "高校毕业生留郑就业创业",
        "海外高层次人才集聚",
    ),
    "金融支持": (
        "科技贷款风险补偿",
        "知识产权质押融资",
        "创业投资引导基金",
        "科技保险保费补贴",
        "中小企业融资担保",
        "企业上市挂牌",
        "科技金融服务体系建设",
        "投贷联动试点",
    ),
    "知识产权": (
        "专利申请资助",
        "知识产权优势企业培育",
        "高价值专利培育",
        "知识产权保护",
        "商标品牌战略",
        "知识产权运营服务",
        "知识产权贯标",
    ),
    "产业发展": (
        "集成电路产业发展",
        "新材料产业发展",
        "智能装备产业发展",
        "生物医药产业发展",
        "数字经济发展",
        "5G产业发展",
        "信息安全产业发展",
        "北斗产业发展",
        "传感器产业发展",
        "先进制造业集群培育",
    ),
    "税收优惠": (
        "研发费用加计扣除",
        "高新技术企业所得税优惠",
        "技术转让所得税减免",
        "小微企业普惠性税收减免",
        "科技企业孵化器税收优惠",
        "增值税期末留抵退税",
        "固定资产加速折旧",
    ),
    "创新创业": (
        "科技企业孵化器建设",
        "众创空间发展",
        "大学生创新创业",
        "双创示范基地建设",
        "创新创业大赛",
        "中小企业公共服务平台建设",
        "支持企业复工复产",
    ),
}
CATEGORIES = tuple(TOPICS)

_VERBS = ("加快", "促进", "支持", "推动", "进一步加强", "深化", "完善", "鼓励")
_TITLES: tuple[tuple[str, str], ...] = (
    ("{place}关于{verb}{topic}的若干政策措施", "措施"),
    ("关于印发《{place}{topic}管理办法》的通知", "办法"),
    ("关于印发《{place}{topic}实施细则》的通知", "细则"),
    ("{place}{topic}实施方案（{year}—{year_end}年）", "方案"),
    ("关于做好{year}年度{topic}工作的通知", "通知"),
    ("关于组织申报{year}年度{topic}项目的通知", "通知"),
    ("{place}关于{verb}{topic}的实施意见", "意见"),
    ("{place}{topic}若干规定", "规定"),
    ("关于{verb}{topic}的通知", "通知"),
)

_BASES = (
    "《国家创新驱动发展战略纲要》",
    "《中华人民共和国促进科技成果转化法》",
    "《国家中长期科学和技术发展规划纲要》",
    "党中央、国务院关于深化科技体制改革的决策部署",
    "省委、省政府关于创新驱动发展的决策部署",
    "郑洛新国家自主创新示范区建设的有关要求",
    "《中华人民共和国中小企业促进法》",
)
_PURPOSES = (
    "加快推进{topic}",
    "进一步激发各类创新主体活力",
    "推动科技成果在本地转化落地",
    "优化创新创业生态环境",
    "强化企业技术创新主体地位",
    "营造良好的科技创新环境",
)

#: Sentences of any policy; {field} names one of the zone's fields, so field words occur in a
#: minority of policies while 科技, 企业, 创新 occur in most.
_GENERAL = (
    "支持企业与高校、科研院所共建研发平台，开展产学研协同创新。",
    "鼓励{field}等重点领域企业加大研发投入，突破一批关键核心技术。",
    "对年度研发投入超过{amount}万元的企业，按照{pct}%的比例给予后补助，最高不超过{cap}万元。",
    "建立健全科技成果转化收益分配机制，科研人员可获得不低于{share}%的转化收益。",
    "各有关部门要加强统筹协调，形成工作合力，确保各项政策措施落到实处。",
    "支持行业龙头企业牵头组建创新联合体，推动产业链上下游协同发展。",
    "重点支持{field}、{field2}等战略性新兴产业，培育一批具有核心竞争力的科技企业。",
    "申报单位应在{place}依法注册，具有独立法人资格，财务管理制度健全。",
    "同一项目不得重复享受{place}同类财政资金支持。",
    "建立科技项目绩效评价制度，加强对财政资金使用情况的监督检查。",
    "对弄虚作假骗取财政资金的，依法依规追回资金并纳入科研诚信记录。",
    "充分发挥协同创新资源开放共享平台作用，推动科技资源向企业开放共享。",
)
_BY_CATEGORY: dict[str, tuple[str, ...]] = {
    "科技创新": (
        "对首次认定的高新技术企业，给予一次性奖励{amount}万元。",
        "对新认定的省级以上研发平台，给予最高{cap}万元的建设经费支持。",
        "支持企业承担国家和省重大科技专项，按照国家和省资助额度给予{pct}%的配套支持。",
        "推动规模以上工业企业研发活动全覆盖，提升企业自主创新能力。",
        "鼓励企业在{field}领域建设重点实验室和工程技术研究中心。",
    ),
    "成果转化": (
        "对高校院所科技成果在{place}转化的，按照技术合同成交额的{pct}%给予奖励。",
        "对认定的技术转移示范机构，每年给予最高{cap}万元的运营补贴。",
        "支持建设中试基地和概念验证中心，打通科技成果转化的“最后一公里”。",
        "对企业购买高校院所科技成果并实现转化的，按实际支付金额的{pct}%给予补助。",
        "支持{field}领域科技成果以许可、转让、作价入股等方式转化。",
    ),
    "人才引进": (
        "对新引进的高层次人才，给予最高{cap}万元的安家补贴。",
        "对入选国家级人才计划的，给予{amount}万元的奖励。",
        "对引进的创新创业团队，按照项目评估结果给予{amount}万元至{cap}万元的资助。",
        "为符合条件的人才提供人才公寓，在子女入学、医疗保障等方面开辟绿色通道。",
        "鼓励企业设立博士后科研工作站，给予每站{amount}万元的建站补贴。",
    ),
    "金融支持": (
        "设立科技贷款风险补偿资金池，对合作银行发生的贷款损失给予{pct}%的补偿。",
        "对开展知识产权质押融资的企业，按照贷款利息的{pct}%给予贴息。",
        "对企业投保科技保险的，按照实际保费的{share}%给予补贴。",
        "对在主板、科创板上市的企业，分阶段给予累计{cap}万元的奖励。",
        "引导创业投资机构投资{field}等领域的初创期科技企业。",
    ),
    "知识产权": (
        "对授权的发明专利，每件给予{amount}万元的资助。",
        "对获得中国专利金奖的单位，给予{cap}万元的奖励。",
        "对通过知识产权管理体系认证的企业，给予一次性{amount}万元的补助。",
        "加强{field}领域高价值专利培育和布局，提升知识产权创造质量。",
        "严厉打击侵犯知识产权违法行为，营造公平竞争的市场环境。",
    ),
    "产业发展": (
        "围绕{field}产业链精准招商，引进一批带动性强的重大项目。",
        "对新建{field}项目，按照设备投资额的{pct}%给予补助，最高不超过{cap}万元。",
        "支持{field}企业开展智能化改造，建设一批示范工厂和数字化车间。",
        "对年主营业务收入首次突破{amount}亿元的企业，给予企业经营团队奖励。",
        "建设{field}产业园区，完善园区基础设施和公共服务配套。",
    ),
    "税收优惠": (
        "企业开展研发活动实际发生的研发费用，在按规定据实扣除的基础上，再按照实际发生额的"
        "{deduction}%在税前加计扣除。",
        "对经认定的高新技术企业，减按15%的税率征收企业所得税。",
        "一个纳税年度内，居民企业技术转让所得不超过500万元的部分，免征企业所得税。",
        "对符合条件的科技企业孵化器自用以及无偿或通过出租等方式提供给在孵对象使用的房产、"
        "土地，免征房产税和城镇土地使用税。",
        "税务机关要优化办税流程，确保各项税收优惠政策应享尽享。",
    ),
    "创新创业": (
        "对新认定的国家级科技企业孵化器，给予一次性{cap}万元的奖励。",
        "对入驻孵化器的初创企业，前两年给予房租全额补贴。",
        "举办创新创业大赛，对获奖项目给予{amount}万元至{cap}万元的奖励。",
        "支持高校毕业生在{place}自主创业，给予最高{amount}万元的创业担保贷款。",
        "受新冠肺炎疫情影响的科技型中小企业，可申请延期缴纳社会保险费。",
    ),
}
_CLOSINGS = ("本{kind}由{authority}负责解释。", "各单位要高度重视，认真组织实施，确保取得实效。")
#: Words of the COVID-19 months: only in documents issued after the outbreak.
COVID_OUTBREAK = date(2020, 1, 20)
_COVID_WORDS = ("疫情", "复工复产")
_FIELD_NAMES = tuple(f.name for f in FIELDS)


@dataclass(frozen=True, slots=True)
class PolicyHead:
    """What the seeding process decides about a policy before its text is written."""

    id: uuid.UUID
    owner_id: uuid.UUID
    status: CatalogStatus
    created_at: datetime
    values: dict[str, Any]
    """Level, issuer, 文号, dates and category."""
    place: str

    @property
    def category(self) -> str:
        return str(self.values["category"])


def document_number(prefix: str, year: int, serial: int) -> str:
    return f"{prefix}〔{year}〕{serial}号"


class DocumentNumbers:
    """文号 unique among all policies: each issuer numbers a year's documents from 1 up, and
    a year that needs more numbers than the issuer usually uses gets the next ones."""

    def __init__(self) -> None:
        self._free: dict[tuple[str, int], list[int]] = {}
        self._issued: dict[tuple[str, int], int] = {}

    def draw(self, rng: random.Random, authority: Authority, year: int) -> str:
        prefix = rng.choice(authority.prefixes)
        key = (prefix, year)
        free = self._free.get(key)
        if not free:
            start = self._issued.get(key, 0)
            free = list(range(start + 1, start + authority.serials + 1))
            rng.shuffle(free)
            self._free[key] = free
            self._issued[key] = start + authority.serials
        return document_number(prefix, year, free.pop())


#: What kinds of policy an issuer's name says it issues (governments issue every kind).
_REMITS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("税务",), ("税收优惠",)),
    (("财政",), ("税收优惠", "金融支持", "科技创新", "成果转化")),
    (("金融", "银行", "银保监"), ("金融支持",)),
    (("知识产权", "市场监督"), ("知识产权",)),
    (("人力资源", "人才"), ("人才引进", "创新创业")),
    (("教育",), ("人才引进", "成果转化", "科技创新")),
    (("科学技术", "科技"), ("科技创新", "成果转化", "创新创业", "知识产权", "人才引进")),
    (("发展和改革", "工业和信息化", "经济发展", "企业服务"), ("产业发展", "科技创新", "创新创业")),
)


def _categories_of(authority: Authority) -> tuple[str, ...]:
    for words, categories in _REMITS:
        if any(word in authority.name for word in words):
            return categories
    return CATEGORIES


_CATEGORIES_OF = {a.name: _categories_of(a) for level in AUTHORITIES.values() for a in level}
EARLIEST_ISSUE = date(2008, 1, 1)
_LEVELS = [level for level, _ in LEVEL_WEIGHTS]
_LEVEL_CUM_WEIGHTS = list(itertools.accumulate(w for _, w in LEVEL_WEIGHTS))
_AUTHORITY_CUM_WEIGHTS = {
    level: list(itertools.accumulate(a.weight for a in authorities))
    for level, authorities in AUTHORITIES.items()
}


def decide_head(
    rng: random.Random,
    numbers: DocumentNumbers,
    *,
    item_id: uuid.UUID,
    owner_id: uuid.UUID,
    status: CatalogStatus,
    created_at: datetime,
) -> PolicyHead:
    """Level, issuer, dates and number of a policy listed at ``created_at``."""
    listed = created_at.date()
    level = rng.choices(_LEVELS, cum_weights=_LEVEL_CUM_WEIGHTS)[0]
    authority = rng.choices(AUTHORITIES[level], cum_weights=_AUTHORITY_CUM_WEIGHTS[level])[0]
    # Mostly recent documents, some going back ten years.
    days_back = min(int(rng.expovariate(1 / 720)), (listed - EARLIEST_ISSUE).days)
    issued = listed - timedelta(days=days_back)
    effective = issued if rng.random() < 0.6 else issued + timedelta(days=rng.randint(1, 60))
    expiry = None
    if rng.random() < 0.65:
        expiry = effective + timedelta(days=365 * rng.randint(1, 5) - 1)
    number = numbers.draw(rng, authority, issued.year) if rng.random() < 0.85 else None
    values = {
        "level": level,
        "issuing_authority": authority.name,
        "document_number": number,
        "issue_date": issued,
        "effective_date": effective,
        "expiry_date": expiry,
        "category": rng.choice(_CATEGORIES_OF[authority.name]),
        "external_id": None,
    }
    return PolicyHead(
        id=item_id,
        owner_id=owner_id,
        status=status,
        created_at=created_at,
        values=values,
        place=authority.place,
    )


class _Slots(dict[str, object]):
    """The values of a sentence's placeholders, drawn only for those it has."""

    def __init__(self, rng: random.Random, head: PolicyHead, topic: str) -> None:
        super().__init__(place=head.place or "我国", topic=topic)
        self._rng = rng

    def __missing__(self, key: str) -> object:
        rng = self._rng
        if key in ("field", "field2"):
            self["field"], self["field2"] = rng.sample(_FIELD_NAMES, 2)
        elif key in ("amount", "cap"):
            amount = rng.choice((5, 10, 20, 30, 50, 100))
            self["amount"], self["cap"] = amount, amount * rng.choice((2, 3, 5, 10))
        elif key == "pct":
            self[key] = rng.choice((10, 15, 20, 25, 30, 50))
        elif key == "share":
            self[key] = rng.choice((50, 60, 70, 80))
        elif key == "deduction":
            self[key] = rng.choice((50, 75, 100))
        return self[key]


def _fill(rng: random.Random, sentence: str, head: PolicyHead, topic: str) -> str:
    return sentence.format_map(_Slots(rng, head, topic)) if "{" in sentence else sentence


def _topics(category: str, issued: date) -> tuple[str, ...]:
    topics = TOPICS[category]
    if issued >= COVID_OUTBREAK:
        return topics
    return tuple(t for t in topics if not any(word in t for word in _COVID_WORDS))


def _sentences(pool: tuple[str, ...], issued: date) -> list[str]:
    if issued >= COVID_OUTBREAK:
        return list(pool)
    return [s for s in pool if not any(word in s for word in _COVID_WORDS)]


def write_policy(rng: random.Random, head: PolicyHead) -> dict[str, Any]:
    """The complete row of one policy: head, title, text, tags and search columns."""
    row = dict(head.values)
    issued: date = row["issue_date"]
    effective: date = row["effective_date"]
    expiry: date | None = row["expiry_date"]
    topic = rng.choice(_topics(head.category, issued))
    template, kind = rng.choice(_TITLES)
    title = template.format(
        place=head.place,
        verb=rng.choice(_VERBS),
        topic=topic,
        year=issued.year,
        year_end=expiry.year if expiry else issued.year + rng.choice((2, 3, 4)),
    )
    purpose = rng.choice(_PURPOSES).format(topic=topic)
    where = head.place or "各地区、各部门"
    parts = [
        f"为深入贯彻落实{rng.choice(_BASES)}，{purpose}，结合{where}实际，制定本{kind}。"
        if kind != "通知"
        else f"为{purpose}，根据{rng.choice(_BASES)}，现就{topic}有关事项通知如下。"
    ]
    target = rng.randint(110, 230)
    length = len(parts[0])
    own = _sentences(_BY_CATEGORY[head.category], issued)
    own = rng.sample(own, len(own))
    general = rng.sample(_GENERAL, len(_GENERAL))
    while length < target and (own or general):
        pool = own if own and (rng.random() < 0.55 or not general) else general
        sentence = _fill(rng, pool.pop(), head, topic)
        parts.append(sentence)
        length += len(sentence)
    if effective == issued and rng.random() < 0.5:
        validity = f"本{kind}自印发之日起施行"
    else:
        validity = f"本{kind}自{effective.year}年{effective.month}月{effective.day}日起施行"
    if expiry is not None:
        validity += f"，有效期{round(((expiry - effective).days + 1) / 365)}年"
    parts.append(validity + "。")
    if rng.random() < 0.4:
        parts.append(rng.choice(_CLOSINGS).format(kind=kind, authority=row["issuing_authority"]))
    row["title"] = title
    row["full_text"] = "".join(parts)
    tags = [LEVEL_NAMES[row["level"]], head.category]
    if "申报" in title:
        tags.append("项目申报")
    elif "万元" in row["full_text"]:
        tags.append("资金奖补")
    row["tags"] = tags
    return imported_row(
        policies_service.SPEC,
        row,
        item_id=head.id,
        owner_id=head.owner_id,
        status=head.status,
        at=head.created_at,
    )


def write_policies(seed: int, heads: list[PolicyHead]) -> list[dict[str, Any]]:
    """The rows of one chunk of policies, from the chunk's own seed (runs in a worker)."""
    rng = random.Random(seed)
    return [write_policy(rng, head) for head in heads]


# --- the section ------------------------------------------------------------------------------


class PolicyRows:
    """The policies' rows, written ahead in worker processes while other sections run.

    Heads (issuer, dates, 文号) are decided here, in order, from the section's generator;
    each chunk's text is written from a seed of the chunk's own by ``workers`` processes, or
    here when ``workers`` is 0. The rows are the same either way, and whatever the timing.
    """

    def __init__(
        self, *, rng: random.Random, scale: SeedScale, owner_id: uuid.UUID, workers: int
    ) -> None:
        self.total = scale.policies + scale.unpublished(scale.policies)
        self._rng = rng
        self._chunks = self._heads(scale, owner_id)
        self._pool: ProcessPoolExecutor | None = None
        self._pending: deque[asyncio.Future[list[dict[str, Any]]]] = deque()
        self._window = 2 * workers + 2
        if workers:
            self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
            self._submit(self._window)

    def _heads(
        self, scale: SeedScale, owner_id: uuid.UUID
    ) -> Iterator[tuple[int, list[PolicyHead]]]:
        rng = self._rng
        numbers = DocumentNumbers()
        states = statuses(rng, scale.policies, self.total - scale.policies)
        created = timeline(rng, self.total, launch_share=0.5)
        for start in range(0, self.total, POLICY_CHUNK):
            heads = [
                decide_head(
                    rng,
                    numbers,
                    item_id=new_id(rng),
                    owner_id=owner_id,
                    status=status,
                    created_at=created_at,
                )
                for created_at, status in zip(
                    created[start : start + POLICY_CHUNK],
                    states[start : start + POLICY_CHUNK],
                    strict=True,
                )
            ]
            yield rng.getrandbits(64), heads

    def _submit(self, count: int) -> None:
        assert self._pool is not None
        loop = asyncio.get_running_loop()
        for seed, heads in itertools.islice(self._chunks, count):
            self._pending.append(loop.run_in_executor(self._pool, write_policies, seed, heads))

    async def chunks(self) -> AsyncIterator[list[dict[str, Any]]]:
        if self._pool is None:
            for seed, heads in self._chunks:
                yield write_policies(seed, heads)
            return
        while self._pending:
            rows = await self._pending.popleft()
            self._submit(1)
            yield rows

    def close(self) -> None:
        for future in self._pending:
            future.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


async def seed_policies(session: AsyncSession, *, rows: PolicyRows, progress: Progress) -> None:
    """Policies of the state, the province, the cities and the districts, curated by the zone
    administration (see :class:`PolicyRows`)."""
    advance = progress.task("policies", rows.total)
    async for chunk in rows.chunks():
        await bulk.copy_rows(session, Policy, chunk, advance)
