"""Chinese text of the demo dataset: titles, summaries and profiles composed from the corpus.

Every function draws only from the ``random.Random`` it is given, so the same seed writes the
same words.
"""

import random
import uuid
from dataclasses import dataclass

from app.demo.corpus import (
    CONTRACT_NAMES,
    CONTRACT_TITLE_ENDINGS,
    DESIGN_VARIANTS,
    ENTERPRISE_BRANDS,
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
