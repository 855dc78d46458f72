"""Chinese text of the demo dataset: titles, summaries and profiles composed from the corpus.

Every function draws only from the ``random.Random`` it is given, so the same seed writes the
same words.
"""

import random
import uuid
from dataclasses import dataclass

from app.demo.corpus import (
    COLLATERALS,
    CONTRACT_NAMES,
    CONTRACT_TITLE_ENDINGS,
    COOPERATION_MODES,
    DEGREES,
    DESIGN_VARIANTS,
    ENTERPRISE_BRANDS,
    GENERAL_SERVICES,
    GIVEN_NAME_CHARACTERS,
    SENIOR_TITLES,
    SURNAMES,
    FieldVocabulary,
)


def new_id(rng: random.Random) -> uuid.UUID:
    """A version-4 UUID drawn from ``rng``: the same seed gives the same ids."""
    return uuid.UUID(int=rng.getrandbits(128), version=4)


_SURNAME_WEIGHTS = [1.0 / (rank + 8) for rank in range(len(SURNAMES))]


def person_name(rng: random.Random) -> tuple[str, str]:
    """A name (姓 + 名) and the pinyin local part of an e-mail address for it."""
    surname, surname_pinyin = rng.choices(SURNAMES, weights=_SURNAME_WEIGHTS)[0]
    count = 1 if rng.random() < 0.3 else 2
    given = [rng.choice(GIVEN_NAME_CHARACTERS) for _ in range(count)]
    name = surname + "".join(c for c, _ in given)
    return name, "".join(p for _, p in given) + "." + surname_pinyin


# --- technologies -------------------------------------------------------------------------

_TECHNOLOGY_TITLES = (
    "一种{obj}{act}装置及方法",
    "一种{obj}的{act}方法",
    "基于{tech}的{obj}{act}系统",
    "{obj}{act}关键技术",
    "面向{app}的{obj}{act}技术",
    "一种用于{app}的{obj}",
    "基于{tech}的{obj}研制及产业化",
    "{obj}{act}成套技术与装备",
)


@dataclass(frozen=True, slots=True)
class Idea:
    """What a technology (or its patent) is about: its title and summary tell the same."""

    field: FieldVocabulary
    obj: str
    act: str
    tech: str
    app: str


def technology_idea(rng: random.Random, field: FieldVocabulary) -> Idea:
    return Idea(
        field=field,
        obj=rng.choice(field.objects),
        act=rng.choice(field.actions),
        tech=rng.choice(field.techniques),
        app=rng.choice(field.applications),
    )


def technology_title(rng: random.Random, idea: Idea) -> str:
    return rng.choice(_TECHNOLOGY_TITLES).format(
        obj=idea.obj, act=idea.act, tech=idea.tech, app=idea.app
    )


_STAGES = {
    1: "原理验证",
    2: "技术方案论证",
    3: "实验室原理样机研制",
    4: "实验室小试",
    5: "关键部件中试验证",
    6: "工程样机试制",
    7: "示范应用",
    8: "小批量生产",
    9: "规模化应用",
}
_VALIDATIONS = ("第三方检测机构检测", "实验室测试", "现场工业性试验", "用户单位试用", "专家鉴定")
_LEVELS = ("国内领先水平", "国际先进水平", "国内先进水平", "行业领先水平")


def technology_summary(rng: random.Random, idea: Idea, trl: int) -> str:
    """Two to four sentences: the problem and the approach, results, uses, stage."""
    field = idea.field
    sentences = [
        f"本成果针对{idea.app}中{rng.choice(field.problems)}的问题，"
        f"采用{idea.tech}技术，实现了{idea.obj}的{idea.act}。"
    ]
    if rng.random() < 0.8:
        sentences.append(
            f"经{rng.choice(_VALIDATIONS)}，{rng.choice(field.benefits)}提高{rng.randint(12, 60)}%"
            f"以上，整体技术达到{rng.choice(_LEVELS)}。"
        )
    if rng.random() < 0.7:
        others = [a for a in field.applications if a != idea.app]
        sentences.append(f"可广泛应用于{idea.app}、{rng.choice(others)}等领域，市场前景广阔。")
    if len(sentences) < 3 or rng.random() < 0.5:
        sentences.append(f"目前已完成{_STAGES[trl]}，拥有自主知识产权，欢迎企业洽谈合作。")
    return "".join(sentences)


# --- talents --------------------------------------------------------------------------------


def talent_expertise(rng: random.Random, field: FieldVocabulary, research: list[str]) -> str:
    areas = "、".join(research[:2])
    return (
        f"长期从事{areas}等方面的研究，在{rng.choice(field.objects)}"
        f"{rng.choice(field.actions)}方面积累了丰富经验，擅长{rng.choice(field.techniques)}"
        f"技术在{rng.choice(field.applications)}中的工程应用。"
    )


def talent_achievements(rng: random.Random, title: str) -> str:
    senior = title in SENIOR_TITLES
    scale = 2 if senior else 1
    national = rng.randint(0, 3 * scale)
    provincial = rng.randint(1, 4 * scale)
    papers = rng.randint(8, 40 * scale)
    indexed = rng.randint(papers // 4, papers // 2 + 1)
    patents = rng.randint(1, 10 * scale)
    parts = []
    if national:
        parts.append(f"主持国家级科研项目{national}项、省部级项目{provincial}项")
    else:
        parts.append(f"主持省部级科研项目{provincial}项")
    parts.append(f"发表学术论文{papers}篇（其中SCI/EI收录{indexed}篇）")
    parts.append(f"授权发明专利{patents}项")
    text = "，".join(parts) + "。"
    if rng.random() < (0.5 if senior else 0.2):
        grade = rng.choice(("一", "二", "二", "三"))
        text += f"获河南省科学技术进步奖{grade}等奖{rng.randint(1, 3)}项。"
    return text


# --- IP assets ------------------------------------------------------------------------------


def utility_model_title(rng: random.Random, field: FieldVocabulary) -> str:
    obj = rng.choice(field.objects)
    return rng.choice(
        (
            f"一种{obj}",
            f"一种{obj}用{rng.choice(('连接结构', '固定装置', '防护罩', '检测机构', '冷却装置'))}",
            f"一种便于{rng.choice(field.actions)}的{obj}",
        )
    )


def design_title(rng: random.Random, field: FieldVocabulary) -> str:
    return f"{rng.choice(field.objects)}（{rng.choice(DESIGN_VARIANTS)}）"


def software_title(rng: random.Random, field: FieldVocabulary) -> str:
    major, minor = rng.randint(1, 3), rng.choice((0, 0, 1, 2, 5))
    kind = rng.choice(("软件", "管理平台", "监测系统", "分析软件"))
    return f"{rng.choice(field.objects)}{rng.choice(field.actions)}{kind}V{major}.{minor}"


def trademark_title(rng: random.Random) -> str:
    return rng.choice(ENTERPRISE_BRANDS) + rng.choice(("", "", "科技", "智造", "牌"))


def ip_summary(rng: random.Random, field: FieldVocabulary, kind_name: str) -> str:
    return (
        f"该{kind_name}涉及{rng.choice(field.research_fields)}领域，"
        f"可用于{rng.choice(field.applications)}，"
        f"有助于提升{rng.choice(field.benefits)}。"
    )


# --- financial products ----------------------------------------------------------------------

_ELIGIBILITY = {
    "sci_tech_credit": (
        "注册在郑州高新区的科技型中小企业、高新技术企业",
        "企业成立满{years}年，拥有{ip}项以上有效知识产权",
        "近一年研发投入占营业收入比例不低于{share}%",
        "企业及实际控制人信用记录良好",
    ),
    "loan": (
        "在郑州高新区依法注册、正常经营的小微企业",
        "企业连续经营满{years}年，纳税信用等级为B级及以上",
        "年营业收入在{revenue}万元以上",
        "企业及实际控制人无不良信用记录",
    ),
    "guarantee": (
        "注册在河南省内的科技型中小企业",
        "成立满{years}年，主营业务突出",
        "具有{ip}项以上授权专利或软件著作权",
        "无逃废债等不良信用记录",
    ),
    "insurance": (
        "注册在郑州高新区的科技型企业",
        "承担研发项目或首台（套）装备推广应用",
        "投保标的具有明确的研发或生产记录",
    ),
    "equity": (
        "注册在郑州高新区或拟迁入高新区的创新型企业",
        "拥有核心技术和{ip}项以上知识产权",
        "创始团队稳定，具有清晰的商业模式",
        "所属领域为{field}等战略性新兴产业",
    ),
}

_DESCRIPTION = {
    "sci_tech_credit": (
        "以企业的知识产权、研发能力和成长性为主要授信依据，无需传统抵押担保。",
        "对纳入郑州高新区科技贷款风险补偿资金池的企业，享受利率优惠。",
        "审批流程简化，资料齐全后最快{days}个工作日放款。",
    ),
    "loan": (
        "依据企业纳税和经营数据综合授信，随借随还，按日计息。",
        "支持线上申请，资料齐全后最快{days}个工作日放款。",
        "可采用信用、保证、抵押等多种担保方式。",
    ),
    "guarantee": (
        "为科技型中小企业向合作银行融资提供连带责任保证。",
        "担保费率低于市场平均水平，对符合条件的企业给予担保费补贴。",
        "可与知识产权质押、股权质押等反担保方式组合使用。",
    ),
    "insurance": (
        "为企业研发和成果转化过程中的风险提供保障。",
        "符合条件的企业可申请保费补贴，补贴比例最高{share}%。",
        "出险后快速理赔，最快{days}个工作日内完成赔付。",
    ),
    "equity": (
        "通过股权投资支持企业研发和产业化，不控股、不干预日常经营。",
        "可与合作银行开展投贷联动，为被投企业提供综合金融服务。",
        "重点投资{field}等领域的初创期和成长期企业。",
    ),
}


def financial_eligibility(rng: random.Random, kind: str, field: FieldVocabulary) -> str:
    clauses = [
        c.format(
            years=rng.randint(1, 3),
            ip=rng.randint(1, 5),
            share=rng.choice((3, 4, 5)),
            revenue=rng.choice((100, 200, 300, 500)),
            field=field.short,
        )
        for c in _ELIGIBILITY[kind]
    ]
    return "；".join(clauses) + "。"


def financial_description(rng: random.Random, kind: str, field: FieldVocabulary) -> str:
    return "".join(
        s.format(days=rng.randint(3, 10), share=rng.choice((30, 40, 50)), field=field.short)
        for s in _DESCRIPTION[kind]
    )


# --- deals ----------------------------------------------------------------------------------


def deal_title(rng: random.Random, category: str, technology_title: str) -> str:
    """A contract's name: the technology's (without a patent title's 一种 or a project's
    研制及产业化) and the kind's."""
    subject = technology_title.removeprefix("一种").removesuffix("研制及产业化")
    return f"{subject}{rng.choice(CONTRACT_TITLE_ENDINGS[category])}"


def deal_terms(
    rng: random.Random, category: str, stages: list[tuple[str, int]], gross_yuan: int
) -> str:
    """The contract's terms in a few sentences: kind, price, payment stages, duration."""
    sentences = [
        f"本合同为{CONTRACT_NAMES[category]}，合同总价款人民币{gross_yuan:,}元（含税），"
        "由买方一次性支付至平台托管账户。"
    ]
    if stages:
        parts = "、".join(f"{title}{amount:,}元" for title, amount in stages)
        sentences.append(f"按{len(stages)}个节点验收后结算：{parts}。")
    else:
        sentences.append("全部工作验收合格后一次性结算。")
    sentences.append(f"履行期限{rng.choice((3, 4, 6, 8, 12))}个月，")
    if category in ("development", "transfer"):
        sentences[-1] += rng.choice(
            ("后续改进成果归买方所有。", "双方可共享后续改进成果。", "卖方提供一年技术支持。")
        )
    else:
        sentences[-1] += rng.choice(("卖方对所提供资料负保密义务。", "服务成果归买方所有。"))
    return "".join(sentences)


# --- demands --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Need:
    """What a demand is about: its title, description and the proposals answering it tell
    the same."""

    kind: str
    field: FieldVocabulary
    obj: str
    act: str
    tech: str
    app: str
    problem: str
    benefit: str
    research: str
    service: str


def demand_need(rng: random.Random, kind: str, field: FieldVocabulary) -> Need:
    service = rng.choice(
        (
            f"{rng.choice(field.objects)}检测分析",
            f"{rng.choice(field.applications)}工艺优化",
            *GENERAL_SERVICES,
        )
    )
    return Need(
        kind=kind,
        field=field,
        obj=rng.choice(field.objects),
        act=rng.choice(field.actions),
        tech=rng.choice(field.techniques),
        app=rng.choice(field.applications),
        problem=rng.choice(field.problems),
        benefit=rng.choice(field.benefits),
        research=rng.choice(field.research_fields),
        service=service,
    )


def demand_title(rng: random.Random, need: Need, amount_wan: int) -> str:
    """A demand's title as enterprises word them; ``amount_wan``: a financing's sum."""
    n = need
    titles = {
        "technology": (
            f"{n.obj}{n.act}技术需求",
            f"征集{n.obj}{n.act}技术解决方案",
            f"面向{n.app}的{n.obj}{n.act}技术合作",
            f"{n.obj}{n.benefit}提升技术攻关",
        ),
        "challenge": (
            f"揭榜挂帅：{n.obj}{n.act}关键技术攻关",
            f"“揭榜挂帅”项目：破解{n.app}中{n.problem}难题",
            f"{n.field.short}领域揭榜挂帅：{n.obj}{n.act}",
        ),
        "service": (
            f"{n.service}服务需求",
            f"委托开展{n.service}服务",
            f"{n.obj}{n.service}服务采购" if "检测" in n.service else f"{n.service}服务采购",
        ),
        "talent": (
            f"诚聘{n.research}方向技术负责人",
            f"柔性引进{n.research}领域专家",
            f"聘请{n.research}专家担任技术顾问",
            f"{n.research}方向高级工程师招聘",
        ),
        "financing": (
            f"{n.obj}产业化项目融资需求",
            f"科技型企业流动资金贷款需求（{amount_wan}万元）",
            f"{n.obj}扩产项目股权融资",
            f"研发设备购置贷款需求（{amount_wan}万元）",
            "知识产权质押融资需求",
        ),
    }
    return rng.choice(titles[n.kind])


def demand_description(rng: random.Random, need: Need, amount_wan: int) -> str:
    """Two to four sentences: who asks, the problem, what is wanted, how to work together."""
    n = need
    about = f"我公司主要从事{n.obj}等产品的研发与生产，产品应用于{n.app}。"
    if n.kind in ("technology", "challenge"):
        sentences = [
            about,
            f"目前生产中存在{n.problem}的问题，希望借助{n.tech}等技术实现{n.obj}的{n.act}，"
            f"使{n.benefit}提高{rng.randint(10, 50)}%以上。",
        ]
        if n.kind == "technology":
            sentences.append(f"合作方式：{rng.choice(COOPERATION_MODES)}，可提供试验场地和样品。")
        else:
            sentences.append("面向全国公开张榜，不设门槛，谁有本事谁揭榜。")
    elif n.kind == "service":
        sentences = [
            about,
            f"因{rng.choice(('新产品上市', '生产线改造', '项目验收', '年度认定'))}需要，"
            f"现委托专业机构开展{n.service}服务。",
            f"要求服务机构具有相关资质，{rng.choice((30, 45, 60, 90))}日内完成并出具报告。",
        ]
    elif n.kind == "talent":
        sentences = [
            about,
            f"因业务拓展需要，拟引进{n.research}方向高层次人才，要求{rng.choice(DEGREES)}学历，"
            f"{rng.randint(3, 10)}年以上相关研发经历。",
            "可采用全职、兼职或项目合作方式，待遇面议，可协助申报郑州市人才项目。",
        ]
    else:
        sentences = [
            f"公司为国家高新技术企业，拥有有效知识产权{rng.randint(5, 60)}项，"
            f"上年度营业收入{rng.randint(8, 200) * 100}万元。",
            f"为推进{n.obj}项目，现需融资{amount_wan}万元，期限{rng.choice((12, 24, 36))}个月，"
            f"可提供{rng.choice(COLLATERALS)}。",
        ]
    return "".join(sentences)


def challenge_requirements(rng: random.Random, need: Need) -> str:
    """What a solver of a challenge must bring (揭榜条件)."""
    return (
        "；".join(
            (
                f"揭榜方在{need.research}领域具有较强研发实力和成功案例",
                f"方案须实现{need.benefit}显著提升，"
                f"并在{rng.choice((6, 12, 18, 24))}个月内完成验证",
                "研发团队核心成员不少于3人，具有高级职称人员不少于1人",
            )
        )
        + "。"
    )


def proposal_plan(rng: random.Random, need: Need, timeline_days: int) -> str:
    """A provider's plan for a demand, in two or three sentences."""
    n = need
    if n.kind == "financing":
        product = rng.choice(("科技贷", "知识产权质押贷", "流动资金贷款", "融资担保", "股权投资"))
        return (
            f"我行（司）可提供{product}产品，年化利率{rng.randint(385, 650) / 100:.2f}%起，"
            f"期限{rng.choice((12, 24, 36))}个月。资料齐全后{timeline_days}日内完成审批和放款。"
        )
    if n.kind == "talent":
        return (
            f"推荐我单位{n.research}方向专家团队，以项目合作方式为企业提供技术指导，"
            f"每月现场服务不少于{rng.randint(2, 6)}天，合作周期{timeline_days}天。"
        )
    if n.kind == "service":
        return (
            f"我单位具有{n.service}相关资质和{rng.randint(3, 15)}年服务经验，"
            f"将组建专门服务团队，{timeline_days}日内完成全部工作并提交报告。"
        )
    return (
        f"针对{n.problem}的问题，我方拟采用{n.tech}技术开展{n.obj}{n.act}研究，"
        f"分方案设计、样机研制和现场验证三个阶段实施，周期{timeline_days}天。"
        f"预期{n.benefit}提高{rng.randint(15, 60)}%，交付技术资料并提供一年技术支持。"
    )


def proposal_solution(rng: random.Random, need: Need) -> str:
    """A challenge's proposed solution in a sentence (揭榜方案摘要)."""
    other = rng.choice([t for t in need.field.techniques if t != need.tech] or [need.tech])
    return (
        f"以{need.tech}为核心，结合{other}，构建{need.obj}{need.act}一体化方案，已完成实验室验证。"
    )


def revised_plan(rng: random.Random, plan: str) -> str:
    """The plan once more, as a revision words it."""
    return plan + rng.choice(
        (
            "（修订：根据答疑内容补充了验收指标。）",
            "（修订：调整了实施进度安排。）",
            "（修订：细化了人员分工和经费预算。）",
        )
    )
