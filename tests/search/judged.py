"""The judged query set of issue 13 ("Relevance you can measure"), and how it is scored.

Each query is one a user of the catalog would type: short Chinese words and phrases, mixed
with English and numbers, a person's name, a field, a policy topic, a loan type, a document
number. With it come the items a person wants first, read off the demo dataset as seeded by
:func:`seed_judged_dataset` and judged by reading them, never by what a ranking returns:

- **2**: what the user surely wants (an item whose title is the query's subject);
- **1**: relevant (the subject in a supporting role, a near kind, a partial match);
- every other item counts 0.

Some judged items cannot be found by any word of the query (a 高企贷 for 高新技术企业, a
utility model for 专利, 锂离子电池 for 锂电池): they are what the user wants all the same, and
they cap what a purely lexical ranking can score. Several queries have no contiguous match in
the data today (耐火材料, 专利转让, 首台套); the phrase is written differently in the items.

Items are named by what stays the same across runs and backends, checked by
``test_judged_items_exist``: the partner's ``external_id`` (talents, technologies, IP assets,
financial products), else the title; a policy that shares its title with another by its 文号
(document number), and a policy or demand sharing its title without one by ``title
YYYY-MM-DD`` (the UTC date it was listed). Never a uuid, never a position.

The set is scored by nDCG@10: graded gain 2^grade − 1, discount log2(rank + 1), divided by the
DCG of the judged grades in their best order (the ideal).
"""

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from statistics import fmean
from typing import Any

from httpx import AsyncClient

from app.core.db import Database, create_engine
from app.demo import load
from app.demo.plan import SCALES, ScaleName

K = 10
"""The depth of the measure: the first page a user sees, ``limit=10``."""

#: The demo dataset the judgments were written against. The small scale (40 talents, 79
#: technologies, 1,000 policies, 120 IP assets) seeds in about a second; it has 4 financial
#: institutions (6 products) and 18 demands, too few to rank, so this scale takes every
#: financial institution (102 products) and the seed scale's demand plan (193 demands anyone
#: may see), which cost a fraction of a second more. The seed scale itself (100,000 policies)
#: takes minutes and has too many items to judge by reading.
SCALE = replace(
    SCALES[ScaleName.small],
    name="relevance",
    financial_institutions=SCALES[ScaleName.seed].financial_institutions,
    demands=SCALES[ScaleName.seed].demands,
)
RANDOM_SEED = 2019
"""``innoshare seed``'s own default."""

CATALOGS = (
    "talents",
    "technologies",
    "policies",
    "ip-assets",
    "financial-products",
    "demands",
)

#: Parameters every query of a catalog is sent with. Demands: the public demand hall in every
#: status a visitor may see. The default (open only) holds just the 20 standing calls, since
#: the other deadlines passed in 2020.
CATALOG_PARAMS: Mapping[str, Sequence[tuple[str, str]]] = {
    "demands": [
        ("status", status) for status in ("open", "closed", "unsuccessful", "cancelled", "awarded")
    ],
}


@dataclass(frozen=True, slots=True)
class Judged:
    """One query and the items that should come first."""

    catalog: str
    """The catalog's path under ``/v1``: ``ip-assets``."""
    q: str
    surely: tuple[str, ...] = ()
    """Grade 2: what the user surely wants."""
    relevant: tuple[str, ...] = ()
    """Grade 1: relevant."""
    why: str = ""
    grades: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "grades", {**dict.fromkeys(self.relevant, 1), **dict.fromkeys(self.surely, 2)}
        )

    @property
    def label(self) -> str:
        return f"{self.catalog} «{self.q}»"


QUERIES: tuple[Judged, ...] = (
    # --- talents: the title is the person's name, everything else is body -------------------
    Judged(
        "talents",
        "新能源",
        surely=("ZZULI-TAL-000002", "ENT002-TAL-000001"),  # 史阳峰, 李雪: field 新能源
        why="the field's two experts; a materials engineer whose work applies in 新能源汽车 is"
        " not one, though newer than one of them",
    ),
    Judged(
        "talents",
        "盾构 刀盘",
        surely=("SKLSTT-TAL-000002", "SKLSTT-TAL-000003"),  # research: 盾构刀盘刀具设计
        relevant=("SKLSTT-TAL-000001", "ENT001-TAL-000001", "ENT001-TAL-000002"),
        why="the two cutterhead designers, then the other shield-machine experts (scattered"
        " terms: 刀盘 alone is not in their text)",
    ),
    Judged(
        "talents",
        "郑州大学 人工智能",
        surely=("ZZU-TAL-000005",),  # 孔洋华, 郑州大学, 人工智能
        relevant=("HNIMI-TAL-000002",),  # 胡鑫: AI, another institute
        why="the university's AI researcher; an AI expert elsewhere is still of use, the"
        " university's other fields are not",
    ),
    Judged(
        "talents",
        "博士生导师 新材料",
        surely=("HAUT-TAL-000001", "ZZIET-TAL-000001"),  # both tags
        relevant=("ZRIME-TAL-000002",),  # 正高级工程师 in new materials, no supervisor tag
        why="doctoral supervisors in new materials; a senior engineer of the field could"
        " supervise, supervisors of other fields cannot help",
    ),
    Judged(
        "talents",
        "李平",
        surely=("ZZIET-TAL-000002",),
        why="a name lookup: the one person of that name",
    ),
    Judged(
        "talents",
        "数字孪生",
        surely=("ZZULI-TAL-000001", "ZZULI-TAL-000004"),  # a research field of theirs
        relevant=("SKLSTT-TAL-000003",),  # applies it to tunnels (expertise)
        why="researchers of digital twins before one who applies them; the applier is newest",
    ),
    Judged(
        "talents",
        "智能制造",
        surely=("ZZULI-TAL-000001", "HNIMI-TAL-000001", "ZZULI-TAL-000004"),  # field
        relevant=("HNIMI-TAL-000002",),  # works at an 智能制造 institute, field 人工智能
        why="the field's experts before an AI engineer whose employer's name says 智能制造",
    ),
    Judged(
        "talents",
        "锂电池",
        surely=("ENT002-TAL-000001", "ZZULI-TAL-000002"),  # research: 锂离子电池
        why="lithium battery experts, written 锂离子电池 in their profiles",
    ),
    # --- technologies -----------------------------------------------------------------------
    Judged(
        "technologies",
        "新能源",
        surely=("ZZULI-TECH-000004", "ENT002-TECH-000001", "ZZULI-TECH-000007"),
        why="the field's three technologies (battery safety, battery thermal management, swap"
        " stations); materials that merely list 新能源汽车 as an application are newer",
    ),
    Judged(
        "technologies",
        "传感器",
        surely=("ZZULI-TECH-000001", "CETC27-TECH-000001"),  # 气体传感器, 光纤传感器
        relevant=("SKLSTT-TECH-000002",),  # 基于多传感器融合的盾构主驱动在线监测系统
        why="sensors themselves before a monitoring system built on sensor fusion, which is"
        " newer; body mentions of 多传感器融合 are not sensors",
    ),
    Judged(
        "technologies",
        "5G 芯片",
        surely=("ENT003-TECH-000001", "CETC27-TECH-000005"),  # 5G 射频前端芯片
        relevant=("CETC27-TECH-000003", "CETC27-TECH-000006"),  # ADCs for 5G: chips too
        why="RF front-end chips for 5G; low-power ADCs for 5G are chips that never say so",
    ),
    Judged(
        "technologies",
        "人工智能 医疗",
        surely=("ZZU-TECH-000007",),  # 面向智慧医疗的智能推荐引擎目标检测技术
        relevant=("HNIMI-TECH-000001", "ZZU-TECH-000005"),  # AI, 智慧医疗 among applications
        why="the AI technology made for medicine, then AI technologies that list it as one use",
    ),
    Judged(
        "technologies",
        "深度学习",
        surely=("ZZULI-TECH-000003", "SKLSTT-TECH-000003", "SKLSTT-TECH-000006"),  # titles
        relevant=("ENT001-TECH-000001", "HNIMI-TECH-000004"),  # 采用深度学习技术 in the summary
        why="built on deep learning by their titles, then those that use it per their summary",
    ),
    Judged(
        "technologies",
        "智能制造 机器人",
        surely=("ZZULI-TECH-000003",),  # 基于深度学习的协作机器人研制及产业化
        relevant=(
            "ZZULI-TECH-000002",
            "HNIMI-TECH-000002",
            "ZZULI-TECH-000005",
            "HNIMI-TECH-000004",
        ),
        why="the one robot; the field's other automation (digital workshops, production lines,"
        " smart warehouses) is relevant to someone after both words",
    ),
    Judged(
        "technologies",
        "耐火材料",
        surely=("ZZU-TECH-000013", "HAUT-TECH-000009"),  # 镁碳耐火砖
        why="refractory bricks are refractory materials; the phrase itself is in no item",
    ),
    Judged(
        "technologies",
        "CVD 金刚石",
        surely=("ZZSM-TECH-000005",),  # 一种用于石材加工的CVD金刚石膜
        relevant=("ZZSM-TECH-000002",),  # diamond wire saw made by 化学气相沉积 (CVD)
        why="the CVD diamond film, then a diamond product made by chemical vapour deposition",
    ),
    Judged(
        "technologies",
        "刀具磨损",
        surely=("ENT001-TECH-000003",),  # 一种用于矿山巷道的刀具磨损检测装置
        relevant=("SKLSTT-TECH-000005",),  # 盘形滚刀 whose problem is the cutters' wear
        why="the wear detector, then a disc cutter addressing wear; a slurry separator whose"
        " summary names the problem in passing is not relevant",
    ),
    # --- policies: 1,000 of them, titles made of a place, a verb and a topic ----------------
    Judged(
        "policies",
        "研发费用加计扣除",
        surely=(
            "关于组织申报2018年度研发费用加计扣除项目的通知",
            "郑州市研发费用加计扣除若干规定",
            "河南省关于加快研发费用加计扣除的若干政策措施",
            "关于印发《郑州市研发费用加计扣除管理办法》的通知",
            "安阳高新区研发费用加计扣除若干规定",
            "洛阳市关于加快研发费用加计扣除的若干政策措施",
            "郑州经开区关于鼓励研发费用加计扣除的实施意见",
            "关于做好2017年度研发费用加计扣除工作的通知",
            "郑州航空港区研发费用加计扣除若干规定",
            "关于印发《郑州高新区研发费用加计扣除实施细则》的通知",
            "郑州高新区关于完善研发费用加计扣除的若干政策措施",
        ),
        why="the policies on the deduction, eleven of them; tax policies that state the rule"
        " in passing are relevant too but cannot displace these",
    ),
    Judged(
        "policies",
        "郑州高新区 人才公寓",
        surely=(  # the zone's own talent-housing policies
            "关于组织申报2014年度人才公寓保障项目的通知",
            "关于做好2016年度人才公寓保障工作的通知",
            "关于做好2019年度人才公寓保障工作的通知 2019-09-21",  # 郑州高新技术产业开发区…
        ),
        relevant=(  # the zone's talent policies that promise 人才公寓 in their text
            "郑州高新区关于支持博士后科研工作站建设的若干政策措施",
            "关于完善高层次人才引进的通知",
            "郑州高新区青年创新人才培养若干规定",
            "郑开管办文〔2015〕98号",
            "郑州高新区关于深化创新创业团队引进的实施意见",
            "关于组织申报2019年度海外高层次人才集聚项目的通知",
        ),
        why="terms split between title and issuer: the zone's 人才公寓保障 documents, whose"
        " titles lack the zone's name, then its talent policies that provide apartments",
    ),
    Judged(
        "policies",
        "高新技术企业认定",
        surely=(  # 高新技术企业培育 with a reward for first recognition (对首次认定的…)
            "关于组织申报2014年度高新技术企业培育项目的通知",
            "关于印发《郑州高新区高新技术企业培育实施细则》的通知",
            "关于印发《河南省高新技术企业培育实施细则》的通知",
            "郑州市关于推动高新技术企业培育的实施意见",
            "关于组织申报2017年度高新技术企业培育项目的通知",
            "关于做好2017年度高新技术企业培育工作的通知",
            "关于印发《高新技术企业培育管理办法》的通知",
            "郑州高新区关于加快高新技术企业培育的实施意见",
        ),
        relevant=(  # the other 培育 policies, and the tax relief of recognized ones
            "关于印发《郑州高新区高新技术企业所得税优惠管理办法》的通知",
            "关于做好2018年度高新技术企业所得税优惠工作的通知",
            "关于做好2012年度高新技术企业培育工作的通知",
            "关于印发《开封市高新技术企业培育管理办法》的通知",
            "关于做好2018年度高新技术企业培育工作的通知",
            "关于支持高新技术企业培育的通知",
            "河南省关于鼓励高新技术企业培育的若干政策措施",
            "关于印发《高新技术企业所得税优惠管理办法》的通知",
            "洛阳高新区高新技术企业培育实施方案（2020—2021年）",
            "郑州市关于鼓励高新技术企业所得税优惠的实施意见",
            "关于促进高新技术企业培育的通知",
            "关于深化高新技术企业培育的通知",
            "关于推动高新技术企业所得税优惠的通知",
            "关于印发《河南省高新技术企业培育管理办法》的通知",
            "郑州市高新技术企业培育若干规定",
            "关于印发《郑州市高新技术企业培育实施细则》的通知",
        ),
        why="how to be recognized and what it brings; no item has the phrase, 认定 stands"
        " apart (首次认定的高新技术企业)",
    ),
    Judged(
        "policies",
        "集成电路 补贴",
        surely=(  # IC industry policies granting 补助 or 后补助
            "关于印发《郑州高新区集成电路产业发展管理办法》的通知",
            "郑州市关于深化集成电路产业发展的实施意见",
            "关于做好2020年度集成电路产业发展工作的通知",
            "关于印发《郑州市集成电路产业发展实施细则》的通知",
        ),
        relevant=(  # the other IC industry policies
            "集成电路产业发展实施方案（2018—2019年）",
            "河南省集成电路产业发展若干规定",
            "洛阳高新区关于鼓励集成电路产业发展的实施意见",
            "关于做好2018年度集成电路产业发展工作的通知",
            "关于做好2015年度集成电路产业发展工作的通知",
            "郑州高新区集成电路产业发展若干规定",
            "焦作市关于加快集成电路产业发展的实施意见",
            "关于促进集成电路产业发展的通知",
            "集成电路产业发展若干规定",
        ),
        why="IC industry policies that pay subsidies (they say 补助), then the other IC"
        " policies; insurance-subsidy policies naming 集成电路 once are not relevant",
    ),
    Judged(
        "policies",
        "5G 基站",
        relevant=(
            "关于印发《郑州市5G产业发展实施细则》的通知",
            "关于做好2019年度5G产业发展工作的通知",
            "关于组织申报2018年度5G产业发展项目的通知",
            "二七区关于进一步加强5G产业发展的实施意见",
            "关于加快5G产业发展的通知",
        ),
        why="no policy is about base stations; the 5G industry policies are the nearest",
    ),
    Judged(
        "policies",
        "人才公寓",
        surely=(
            "河南省人才公寓保障实施方案（2013—2015年）",
            "郑州航空港区关于完善人才公寓保障的实施意见",
            "关于组织申报2015年度人才公寓保障项目的通知",
            "关于印发《郑州市人才公寓保障实施细则》的通知",
            "焦作高新区关于完善人才公寓保障的若干政策措施",
            "关于做好2019年度人才公寓保障工作的通知 2019-09-21",
            "南阳市人才公寓保障若干规定",
            "关于支持人才公寓保障的通知",
            "关于完善人才公寓保障的若干政策措施",
            "河南省关于推动人才公寓保障的实施意见",
            "关于组织申报2014年度人才公寓保障项目的通知",
            "关于印发《洛阳市人才公寓保障管理办法》的通知",
            "洛阳高新区关于促进人才公寓保障的实施意见",
            "关于组织申报2019年度人才公寓保障项目的通知",
            "人才公寓保障实施方案（2016—2019年）",
            "关于做好2017年度人才公寓保障工作的通知",
            "河南省关于促进人才公寓保障的实施意见",
            "关于做好2016年度人才公寓保障工作的通知",
            "关于深化人才公寓保障的通知",
            "郑州经开区人才公寓保障实施方案（2016—2019年）",
            "关于做好2019年度人才公寓保障工作的通知 2020-05-26",
            "关于做好2018年度人才公寓保障工作的通知",
        ),
        why="the talent-housing policies; some 45 talent policies promise 人才公寓 in one"
        " sentence and must not come first",
    ),
    Judged(
        "policies",
        "国科发火〔2018〕192号",
        surely=("国科发火〔2018〕192号",),  # 关于促进首台（套）重大技术装备推广应用的通知
        why="a document number pasted in: that one document, listed in 2019; the 教育部"
        " document of the same title is not it",
    ),
    # --- IP assets ----------------------------------------------------------------------------
    Judged(
        "ip-assets",
        "金刚石",
        surely=(
            "ZZSM-IP-000004",  # 一种CVD金刚石膜
            "ZZSM-IP-000006",  # 聚晶金刚石复合片（壁挂式）
            "ZZU-IP-000015",  # 金刚石线锯高效制备关键技术
            "ZZSM-IP-000011",  # 基于放电等离子烧结的CVD金刚石膜高效制备系统
            "ZZSM-IP-000012",  # 面向精密模具制造的金刚石锯片高效制备技术
        ),
        relevant=(
            "ZZSM-IP-000010",  # 一种CVD金刚石膜用检测机构
            "ZZSM-IP-000007",  # 超硬刀具低温烧结…, in the diamond wire saw field
        ),
        why="diamond products, then a fixture for one and a tool of the diamond-saw field;"
        " a trademark and CBN wheels whose summaries name diamond fields are not",
    ),
    Judged(
        "ip-assets",
        "碳纤维",
        surely=("ZZU-IP-000002", "HAUT-IP-000011"),  # carbon-fibre prepreg patents
        relevant=("ZZIET-IP-000002", "ZZU-IP-000011"),  # its software, its drawing
        why="patents on carbon-fibre prepreg, then the software and drawing of one; titanium"
        " and ceramics patents whose summaries claim the composites field are not",
    ),
    Judged(
        "ip-assets",
        "同步注浆系统",
        surely=("SKLSTT-IP-000001", "SKLSTT-IP-000008"),  # 一种同步注浆系统 (oldest), a method
        relevant=("SKLSTT-IP-000002",),  # 同步注浆系统自动拼装分析软件V3.5
        why="the system itself, the oldest and the exact title, and a method for it, then an"
        " analysis software",
    ),
    Judged(
        "ip-assets",
        "石墨烯",
        surely=("ZZU-IP-000029", "ZZU-IP-000016"),  # graphene thermal film patents
        relevant=("ZZU-IP-000024",),  # 一种石墨烯导热膜用连接结构
        why="graphene film patents, then a connector for the film; items whose summary names"
        " the graphene field (a polyurethane, a brochure) are not",
    ),
    Judged(
        "ip-assets",
        "专利转让",
        surely=(  # invention patents available for transfer
            "ZZU-IP-000003",
            "ZRIME-IP-000001",
            "ZZU-IP-000005",
            "ZZU-IP-000007",
            "CETC27-IP-000003",
            "ZRIME-IP-000003",
            "ZZU-IP-000015",
            "HAUT-IP-000008",
            "ZZU-IP-000020",
            "HNAS-IP-000008",
            "ZZULI-IP-000008",
            "ENT003-IP-000003",
        ),
        relevant=(  # utility models and designs available for transfer: patents too
            "ZZSM-IP-000004",
            "ENT006-IP-000002",
            "HAUT-IP-000004",
            "ENT003-IP-000001",
            "SKLSTT-IP-000004",
            "ZZSM-IP-000010",
            "ZRIME-IP-000004",
            "ENT002-IP-000002",
            "HAUT-IP-000012",
            "ZZU-IP-000027",
            "ZZU-IP-000029",
        ),
        why="patents one can buy (tagged 可转让); the phrase is in no item",
    ),
    Judged(
        "ip-assets",
        "MEMS 传感器",
        surely=("ENT003-IP-000003", "CETC27-IP-000007"),  # MEMS压力传感器
        relevant=("ENT003-IP-000001",),  # an image sensor chip in the MEMS sensor field
        why="MEMS pressure sensors, then an image sensor chip of the MEMS field; gas sensors"
        " are not MEMS",
    ),
    Judged(
        "ip-assets",
        "2019SR1039965",
        surely=("SKLSTT-IP-000003",),  # 硬岩掘进机姿态纠偏软件V3.2
        why="a software registration number: that registration",
    ),
    Judged(
        "ip-assets",
        "智能电表",
        surely=("CETC27-IP-000001", "CETC27-IP-000003", "ZZU-IP-000018"),  # smart meter patents
        relevant=("ZZU-IP-000001",),  # 智能电表结构示意图, a drawing
        why="smart meter patents, then a copyrighted drawing of one",
    ),
    # --- financial products -------------------------------------------------------------------
    Judged(
        "financial-products",
        "知识产权质押贷款",
        surely=(
            "ABC-FP-003",
            "CGB-FP-002",
            "BOSC-FP-001",
            "CBHB-FP-001",
            "ZZRCB-FP-001",
            "LYBANK-FP-002",
        ),  # …知识产权质押贷
        relevant=("ZZHTG-FP-002", "HNAGG-FP-002", "ZYREG-FP-002"),  # …知识产权质押融资担保
        why="IP-pledge loans, named 知识产权质押贷; guarantees for IP-pledge financing are near",
    ),
    Judged(
        "financial-products",
        "小微企业 贷款",
        surely=("CEB-FP-001", "CDB-FP-003", "CMBC-FP-003", "ZZRCB-FP-002"),  # …小微快贷
        relevant=(  # every other loan: their eligibility is 小微企业
            "CZB-FP-002",
            "PSBC-FP-001",
            "BOCOM-FP-003",
            "BOCOM-FP-001",
            "PAB-FP-001",
            "ABC-FP-001",
            "ZYBANK-FP-003",
            "LYBANK-FP-003",
            "HFB-FP-002",
            "ABC-FP-002",
            "BOSC-FP-002",
            "CMB-FP-002",
            "ZZRCB-FP-003",
            "HXB-FP-003",
            "CDB-FP-001",
            "CMB-FP-001",
            "CIB-FP-002",
            "CZB-FP-001",
            "CDB-FP-002",
            "CITIC-FP-001",
            "BOCOM-FP-002",
            "HXB-FP-004",
            "CDB-FP-004",
            "HFB-FP-004",
            "HXB-FP-001",
            "SPDB-FP-002",
            "CEB-FP-002",
            "BOC-FP-002",
            "ZYBANK-FP-001",
            "BOB-FP-001",
        ),
        why="the loans named for small businesses, then any loan for them; sci-tech credit"
        " is for 科技型中小企业, not named for 小微",
    ),
    Judged(
        "financial-products",
        "高新技术企业 贷款",
        surely=("HXB-FP-002", "BOC-FP-003", "SPDB-FP-001", "CGB-FP-003"),  # …高企贷
        relevant=(  # the other sci-tech credit: eligibility includes 高新技术企业
            "CMBC-FP-001",
            "HFB-FP-001",
            "ABC-FP-003",
            "ZYBANK-FP-002",
            "CGB-FP-002",
            "CZB-FP-003",
            "CCB-FP-001",
            "CEB-FP-003",
            "CZB-FP-004",
            "BOC-FP-001",
            "ICBC-FP-002",
            "BOSC-FP-001",
            "ZZBANK-FP-001",
            "CIB-FP-001",
            "LYBANK-FP-001",
            "CBHB-FP-001",
            "HFB-FP-003",
            "PAB-FP-002",
            "ZZRCB-FP-001",
            "ICBC-FP-001",
            "PAB-FP-003",
            "LYBANK-FP-002",
            "CITIC-FP-002",
            "CMBC-FP-002",
            "ABC-FP-004",
            "CGB-FP-001",
        ),
        why="高企贷 is the high-tech enterprise loan (all listed in September 2019); other"
        " sci-tech credit admits high-tech enterprises too",
    ),
    Judged(
        "financial-products",
        "首台套",
        surely=("PAIC-FP-003", "PICC-FP-001"),  # …首台（套）重大技术装备综合保险
        why="as users write 首台（套）: the first-of-a-kind equipment insurance",
    ),
    Judged(
        "financial-products",
        "中小企业 融资担保",
        surely=("HNAGG-FP-004", "ZYREG-FP-001", "ZZSMEG-FP-001", "HNSMEG-FP-001"),
        relevant=(  # the other guarantees serve 科技型中小企业 as well
            "ZZHTG-FP-002",
            "HNAGG-FP-002",
            "HNAGG-FP-001",
            "ZYREG-FP-003",
            "HNAGG-FP-003",
            "HNSMEG-FP-002",
            "ZZHTG-FP-001",
            "ZYREG-FP-002",
        ),
        why="the SME financing guarantees by name, then the other guarantees",
    ),
    Judged(
        "financial-products",
        "科技保险",
        surely=("CLPC-FP-001",),  # 国寿财险科技保险, listed in 2019
        relevant=(
            "PAIC-FP-003",
            "PICC-FP-001",
            "CPIC-FP-001",
            "PAIC-FP-004",
            "PAIC-FP-002",
            "PAIC-FP-001",
            "CLPC-FP-002",
        ),  # every other insurance: tagged 科技保险
        why="the product named 科技保险 first, then the other sci-tech insurance, most newer",
    ),
    Judged(
        "financial-products",
        "投贷联动",
        surely=("HNSTI-FP-004", "ZYVC-FP-001", "ZZHTI-FP-003", "ZYHTV-FP-003", "CCNEW-FP-001"),
        relevant=(  # equity products whose description offers 投贷联动 with partner banks
            "ZYHTV-FP-004",
            "ZZHTI-FP-002",
            "ZYVC-FP-003",
            "ZYHTV-FP-002",
            "ZZHTI-FP-001",
            "CCNEW-FP-002",
            "HNSTI-FP-002",
            "ZYVC-FP-002",
            "HNSTI-FP-001",
            "CCNEW-FP-003",
            "HNSTI-FP-003",
            "ZZVCGF-FP-001",
            "ZYHTV-FP-001",
        ),
        why="the investment-loan linkage products by name, then equity that offers it",
    ),
    # --- demands: the public demand hall, every status --------------------------------------
    Judged(
        "demands",
        "揭榜挂帅 盾构",
        surely=(
            "盾构装备领域揭榜挂帅：刀具磨损检测装置快速更换",
            "“揭榜挂帅”项目：破解铁路隧道中管片拼装精度不足难题",
            "揭榜挂帅：泥水分离系统自动拼装关键技术攻关",
            "揭榜挂帅：刀具磨损检测装置优化设计关键技术攻关",
            "揭榜挂帅：管片拼装机故障诊断关键技术攻关",
            "“揭榜挂帅”项目：破解矿山巷道中刀具磨损状态难以实时掌握难题",
        ),
        why="the shield-machine challenges; only one says 盾构 in its title",
    ),
    Judged(
        "demands",
        "知识产权质押融资",
        surely=(
            "知识产权质押融资需求 2019-10-22",
            "知识产权质押融资需求 2020-02-21",
            "知识产权质押融资需求 2020-04-24",
            "知识产权质押融资需求 2020-05-06",
        ),
        relevant=("锁相环电路扩产项目股权融资", "氮化镓器件扩产项目股权融资"),
        why="what a bank looks for: the IP-pledge financing demands, then financing demands"
        " that offer an IP pledge",
    ),
    Judged(
        "demands",
        "射频芯片 专家",
        surely=("聘请射频芯片设计专家担任技术顾问",),
        relevant=("射频芯片设计方向高级工程师招聘",),
        why="the call for an RF chip expert; a hire for RF chip design is near",
    ),
    Judged(
        "demands",
        "MEMS 传感器",
        surely=(
            "MEMS传感器方向高级工程师招聘",
            "面向物联网终端的MEMS压力传感器低功耗设计技术合作",
            "MEMS压力传感器版图优化技术需求",
            "集成电路领域揭榜挂帅：MEMS压力传感器版图优化",
        ),
        why="demands about MEMS sensors; services bought by a MEMS maker are not",
    ),
    Judged(
        "demands",
        "锂离子电池",
        surely=("锂离子电池方向高级工程师招聘",),
        relevant=("研发设备购置贷款需求（318万元）",),  # for a 锂离子电池正极材料 project
        why="the battery hire, then a loan for a cathode-material project",
    ),
    Judged(
        "demands",
        "氮化硅陶瓷",
        surely=(
            "氮化硅陶瓷导热系数提升技术攻关",
            "氮化硅陶瓷性能调控技术需求",
            "新材料领域揭榜挂帅：氮化硅陶瓷低成本制备",
        ),
        why="the silicon-nitride demands; a patent service bought by its maker is not one",
    ),
    Judged(
        "demands",
        "刀具磨损检测装置",
        surely=(
            "面向公路隧道的刀具磨损检测装置寿命预测技术合作",
            "刀具磨损检测装置姿态纠偏技术需求",
            "揭榜挂帅：刀具磨损检测装置优化设计关键技术攻关",
            "盾构装备领域揭榜挂帅：刀具磨损检测装置快速更换",
        ),
        relevant=("刀具磨损检测装置产业化项目融资需求",),
        why="technology demands about the detector, then its financing; newer services and a"
        " hire by its makers are not about it",
    ),
    Judged(
        "demands",
        "新能源汽车",
        surely=(
            "“揭榜挂帅”项目：破解新能源汽车中芯片功耗偏高难题",
            "“揭榜挂帅”项目：破解新能源汽车中制备工艺复杂难题",
        ),
        relevant=(  # technology needs of makers whose products go into new-energy vehicles
            "揭榜挂帅：系统级封装模块封装测试关键技术攻关",
            "系统级封装模块电路设计技术需求",
            "碳化硅功率器件转换精度提升技术攻关",
            "铝基复合材料性能调控技术需求",
            "集成电路领域揭榜挂帅：安全加密芯片可靠性测试",
            "系统级封装模块转换精度提升技术攻关",
            "射频前端芯片封装测试技术需求",
            "揭榜挂帅：锁相环电路可靠性测试关键技术攻关 2020-03-11",
            "碳化硅功率器件封装测试技术需求",
            "集成电路领域揭榜挂帅：系统级封装模块失效分析",
            "集成电路领域揭榜挂帅：锁相环电路版图优化",
        ),
        why="the challenges set in new-energy vehicles, then technology needs for parts that go"
        " into them; services bought and people hired by those makers are not (and are newer)",
    ),
    Judged(
        "demands",
        "研发费用加计扣除",
        surely=(
            "研发费用加计扣除辅导服务需求 2020-03-02",
            "委托开展研发费用加计扣除辅导服务 2020-03-09",
            "研发费用加计扣除辅导服务需求 2020-03-16",
            "委托开展研发费用加计扣除辅导服务 2020-04-27",
            "委托开展研发费用加计扣除辅导服务 2020-05-27",
        ),
        why="the demands for deduction coaching, a service firm's search",
    ),
)


# --- scoring ----------------------------------------------------------------------------------


def identities(item: Mapping[str, Any]) -> frozenset[str]:
    """Every name a judgment may give this item (as the API returns it)."""
    title = item.get("title") if "name" not in item else item["name"]
    names = {
        item.get("external_id"),
        item.get("document_number"),
        item.get("number"),
        title,
        f"{title} {str(item['created_at'])[:10]}",
    }
    return frozenset(name for name in names if name)


def dcg(gains: Sequence[float]) -> float:
    return sum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains[:K], start=1))


def grade(query: Judged, names: frozenset[str]) -> int:
    """The grade of the item with these identities for this query (0: not judged)."""
    return max((query.grades.get(name, 0) for name in names), default=0)


def ndcg(query: Judged, found: Sequence[frozenset[str]]) -> float:
    """nDCG@K of a ranked answer (each item by its identities) against the judged grades."""
    gains = [2 ** grade(query, names) - 1 for names in found]
    ideal = dcg(sorted((2**value - 1 for value in query.grades.values()), reverse=True))
    return dcg(gains) / ideal if ideal else 0.0


@dataclass(frozen=True, slots=True)
class Score:
    query: Judged
    ndcg: float
    found: tuple[str, ...]
    """What came back, each item as ``grade:title``."""


def _params(catalog: str, **extra: str) -> tuple[tuple[str, str], ...]:
    """A list request's query: the catalog's own parameters, then ``extra``."""
    return (*CATALOG_PARAMS.get(catalog, ()), *extra.items())


async def score_queries(client: AsyncClient) -> list[Score]:
    """Every judged query through ``GET /v1/<catalog>?q=…&limit=10``, scored."""
    scores = []
    for query in QUERIES:
        response = await client.get(
            f"/v1/{query.catalog}", params=_params(query.catalog, q=query.q, limit=str(K))
        )
        response.raise_for_status()
        items = response.json()["items"]
        found = [identities(item) for item in items]
        labels = tuple(
            f"{grade(query, names)}:{item.get('name') or item.get('title')}"
            for item, names in zip(items, found, strict=True)
        )
        scores.append(Score(query, ndcg(query, found), labels))
    return scores


@dataclass(frozen=True, slots=True)
class Figures:
    overall: float
    """The mean nDCG@10 over all queries."""
    catalogs: dict[str, float]
    """The mean over each catalog's queries."""
    queries: dict[str, int]
    """How many queries each catalog has."""


def figures(scores: Sequence[Score]) -> Figures:
    by_catalog = {
        catalog: [s.ndcg for s in scores if s.query.catalog == catalog] for catalog in CATALOGS
    }
    return Figures(
        overall=fmean(s.ndcg for s in scores),
        catalogs={catalog: fmean(values) for catalog, values in by_catalog.items()},
        queries={catalog: len(values) for catalog, values in by_catalog.items()},
    )


def report(scores: Sequence[Score], *, worst: int = 10) -> str:
    """Per catalog and overall nDCG@10, then the worst queries with what they returned."""
    result = figures(scores)
    lines = [f"nDCG@{K} over {len(scores)} judged queries"]
    for catalog in CATALOGS:
        lines.append(
            f"  {catalog:<20} {result.catalogs[catalog]:.3f}  ({result.queries[catalog]} queries)"
        )
    lines.append(f"  {'overall':<20} {result.overall:.3f}")
    lines.append(f"worst {worst}:")
    for score in sorted(scores, key=lambda s: (s.ndcg, s.query.label))[:worst]:
        lines.append(f"  {score.ndcg:.3f}  {score.query.label}  — {score.query.why}")
        lines.append(f"         got: {', '.join(score.found) or '(nothing)'}")
    return "\n".join(lines)


async def visible_items(client: AsyncClient, catalog: str) -> list[dict[str, Any]]:
    """Every item of a catalog the judged queries could return, oldest first, page by page."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        extra = {"limit": "200", "sort": "oldest"} | ({"cursor": cursor} if cursor else {})
        response = await client.get(f"/v1/{catalog}", params=_params(catalog, **extra))
        response.raise_for_status()
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def unresolved(client: AsyncClient) -> list[str]:
    """Judged names that do not name exactly one item anyone may see."""
    problems = []
    for catalog in CATALOGS:
        named: dict[str, int] = {}
        for item in await visible_items(client, catalog):
            for name in identities(item):
                named[name] = named.get(name, 0) + 1
        for query in QUERIES:
            if query.catalog != catalog:
                continue
            for name in query.grades:
                if named.get(name, 0) != 1:
                    problems.append(f"{query.label}: {name!r} names {named.get(name, 0)} items")
    return problems


async def seed_judged_dataset(url: str) -> float:
    """Seed the migrated, empty database at ``url`` as judged; the seconds it took."""
    database = Database(create_engine(url))
    started = time.perf_counter()
    try:
        async with database.unit_of_work(write=True) as session:
            await load.seed_database(session, scale=SCALE, random_seed=RANDOM_SEED, accounts=False)
    finally:
        await database.dispose()
    return time.perf_counter() - started
