"""Official Taiwan PDPA code tables (MOJ 「個人資料保護法之特定目的及個人資料之類別」).

Source: Ministry of Justice, 「個人資料保護法之特定目的及個人資料之類別」 (amended 2012-10-01; MOJ law
database LSID FL010631). English names of purposes 001-031 come from the MOJ English version, "The specific
purpose and the classification of personal information of the Personal Information Protection Act"
(https://mojlaw.moj.gov.tw/ENG/LawContentE.aspx?LSID=FL010631); the rest are plain renderings of the Chinese.
The Chinese text itself was taken from published Taiwanese PDPA notices (government agencies, banks, insurers,
universities and retailers) that quote the MOJ list together with its codes, and cross-checked between them.

Only entries whose code and exact official name could be confirmed are listed, so this is a subset of the MOJ
list (182 purposes).
"""

from __future__ import annotations

#: Specific purposes (特定目的): code -> (official Traditional Chinese name, English name)
PURPOSES: dict[str, tuple[str, str]] = {
    "001": ("人身保險", "Life and Health Insurance"),
    "002": (
        (
            "人事管理（包含甄選、離職及所屬員工基本資訊、現職、學經歷、考試分發、終身學習訓練進修、考績獎懲、銓審、"
            "薪資待遇、差勤、福利措施、褫奪公權、特殊查核或其他人事措施）"
        ),
        (
            "Human Resource Management (including recruitment, separation, employee profile, current position, "
            "education, working experience, examination distribution, long term learning, training and development, "
            "performance management, verification of qualifications, compensation, attendance record, benefits, "
            "deprivation of civil rights, special check (background), other personnel management)"
        ),
    ),
    "003": ("入出國及移民", "Entry and departure & immigration"),
    "006": ("工業行政", "Industrial Administration"),
    "007": ("不動產服務", "Real Estate Services"),
    "008": ("中小企業及其他產業之輔導", "Small and medium enterprises and other industries assistance"),
    "010": ("公立與私立慈善機構管理", "Public and Private charity organization Management"),
    "012": ("公共衛生或傳染病防治", "Public Health and Communicable Disease Control"),
    "013": ("公共關係", "Public Relation"),
    "020": ("代理與仲介業務", "Agency and brokerage business"),
    "022": ("外匯業務", "Foreign Exchange Business"),
    "024": ("民意調查", "Poll"),
    "031": (
        "全民健康保險、勞工保險、農民保險、國民年金保險或其他社會保險",
        (
            "National health insurance, labor insurance, farmers insurance, national pension insurance or other "
            "social insurance"
        ),
    ),
    "036": ("存款與匯款", "Deposits and remittances"),
    "040": (
        "行銷（包含金控共同行銷業務）",
        "Marketing (including joint marketing within financial holding groups)",
    ),
    "043": ("志工管理", "Volunteer management"),
    "044": ("投資管理", "Investment management"),
    "049": ("宗教、非營利組織業務", "Religious and non-profit organization affairs"),
    "052": (
        "法人或團體對股東、會員（含股東、會員指派之代表）、董事、監察人、理事、監事或其他成員名冊之內部管理",
        (
            "Internal management by a legal person or group of its register of shareholders, members (including "
            "representatives appointed by shareholders or members), directors, supervisors or other members"
        ),
    ),
    "059": (
        "金融服務業依法令規定及金融監理需要，所為之蒐集處理及利用",
        "Collection, processing and use by financial services businesses as required by law and financial supervision",
    ),
    "061": ("金融監督、管理與檢查", "Financial supervision, administration and examination"),
    "063": (
        "非公務機關依法定義務所進行個人資料之蒐集處理及利用",
        "Collection, processing and use of personal data by non-government agencies to fulfil legal obligations",
    ),
    "067": (
        "信用卡、現金卡、轉帳卡或電子票證業務",
        "Credit card, cash card, debit card or electronic ticket business",
    ),
    "068": ("信託業務", "Trust business"),
    "069": (
        "契約、類似契約或其他法律關係事務",
        "Matters of contract, quasi-contract or other legal relationships",
    ),
    "071": (
        "建築管理、都市更新、國民住宅事務",
        "Building administration, urban renewal and public housing affairs",
    ),
    "073": (
        "政府資訊公開、檔案管理及應用",
        "Government information disclosure, archives management and use",
    ),
    "075": ("科技行政", "Science and technology administration"),
    "077": ("訂位、住宿登記與購票業務", "Reservations, accommodation registration and ticketing"),
    "081": ("個人資料之合法交易業務", "Lawful trading of personal data"),
    "082": (
        "借款戶與存款戶存借作業綜合管理",
        "Integrated management of deposit and loan operations for borrowers and depositors",
    ),
    "088": ("核貸與授信業務", "Loan approval and credit extension business"),
    "090": ("消費者、客戶管理與服務", "Consumer and customer management and services"),
    "091": ("消費者保護", "Consumer protection"),
    "093": ("財產保險", "Property insurance"),
    "094": ("財產管理", "Property management"),
    "098": ("商業與技術資訊", "Business and technical information"),
    "104": ("帳務管理及債權交易業務", "Account management and claims trading business"),
    "106": ("授信業務", "Credit extension business"),
    "107": ("採購與供應管理", "Procurement and supply management"),
    "109": ("教育或訓練行政", "Education or training administration"),
    "110": ("產學合作", "Industry-academia cooperation"),
    "111": ("票券業務", "Bills business"),
    "112": ("票據交換業務", "Clearing house business"),
    "118": (
        "智慧財產權、光碟管理及其他相關行政",
        "Intellectual property rights, optical disc management and related administration",
    ),
    "123": ("貿易推廣及管理", "Trade promotion and management"),
    "125": ("傳播行政與管理", "Communications and media administration and management"),
    "126": ("債權整貼現及收買業務", "Factoring, discounting and purchase of claims"),
    "127": ("募款（包含公益勸募）", "Fundraising (including charitable solicitation)"),
    "129": ("會計與相關服務", "Accounting and related services"),
    "132": ("經營傳播業務", "Operation of media and broadcasting business"),
    "135": ("資（通）訊服務", "Information and communication services"),
    "136": ("資（通）訊與資料庫管理", "Information and communication and database management"),
    "137": ("資通安全與管理", "Information and communication security and management"),
    "145": ("僱用與服務管理", "Employment and service management"),
    "148": ("網路購物及其他電子商務服務", "Online shopping and other e-commerce services"),
    "152": ("廣告或商業行為管理", "Advertising or commercial conduct management"),
    "154": ("徵信", "Credit investigation"),
    "157": ("調查、統計與研究分析", "Surveys, statistics and research analysis"),
    "160": ("憑證業務管理", "Certificate business management"),
    "166": (
        "證券、期貨、證券投資信託及顧問相關業務",
        "Securities, futures, securities investment trust and advisory business",
    ),
    "168": ("護照、簽證及文件證明處理", "Passport, visa and document authentication processing"),
    "170": (
        "觀光行政、觀光旅館業、旅館業、旅行業、觀光遊樂業及民宿經營管理業務",
        (
            "Tourism administration and management of tourist hotels, hotels, travel agencies, tourist amusement "
            "enterprises and homestays"
        ),
    ),
    "176": (
        "其他自然人基於正當性目的所進行個人資料之蒐集處理及利用",
        "Other collection, processing and use of personal data by natural persons for legitimate purposes",
    ),
    "177": ("其他金融管理業務", "Other financial management business"),
    "181": (
        "其他經營合於營業登記項目或組織章程所定之業務",
        "Other business within registered business items or articles of incorporation",
    ),
    "182": ("其他諮詢與顧問服務", "Other consulting and advisory services"),
}

#: Personal-data categories (個人資料之類別): code -> (official Traditional Chinese name, English name)
DATA_CATEGORIES: dict[str, tuple[str, str]] = {
    "C001": ("辨識個人者", "Identifiers of individuals"),
    "C002": ("辨識財務者", "Financial identifiers"),
    "C003": ("政府資料中之辨識者", "Government-issued identifiers"),
    "C011": ("個人描述", "Personal description"),
    "C012": ("身體描述", "Physical description"),
    "C013": ("習慣", "Habits"),
    "C014": ("個性", "Personality"),
    "C021": ("家庭情形", "Family circumstances"),
    "C022": ("婚姻之歷史", "Marital history"),
    "C023": ("家庭其他成員之細節", "Details of other family members"),
    "C024": ("其他社會關係", "Other social relationships"),
    "C031": ("住家及設施", "Residence and facilities"),
    "C032": ("財產", "Property"),
    "C033": ("移民情形", "Immigration status"),
    "C034": ("旅行及其他遷徙細節", "Travel and other movement details"),
    "C035": ("休閒活動及興趣", "Leisure activities and interests"),
    "C036": ("生活格調", "Lifestyle"),
    "C037": ("慈善機構或其他團體之會員資格", "Membership of charities or other organizations"),
    "C038": ("職業", "Occupation"),
    "C039": ("執照或其他許可", "Licences or other permits"),
    "C040": ("意外或其他事故及有關情形", "Accidents or other incidents and related circumstances"),
    "C051": ("學校紀錄", "School records"),
    "C052": ("資格或技術", "Qualifications or skills"),
    "C053": ("職業團體會員資格", "Membership of professional bodies"),
    "C054": ("職業專長", "Professional expertise"),
    "C055": ("委員會之會員資格", "Committee memberships"),
    "C056": ("著作", "Publications"),
    "C061": ("現行之受僱情形", "Current employment"),
    "C062": ("僱用經過", "Recruitment history"),
    "C063": ("離職經過", "Termination of employment history"),
    "C064": ("工作經驗", "Work experience"),
    "C065": ("工作、差勤紀錄", "Work and attendance records"),
    "C066": ("健康與安全紀錄", "Health and safety records"),
    "C068": ("薪資與預扣款", "Salary and withholdings"),
    "C070": ("工作管理之細節", "Details of work management"),
    "C071": ("工作之評估細節", "Details of work assessment"),
    "C072": ("受訓紀錄", "Training records"),
    "C073": ("安全細節", "Security details"),
    "C081": ("收入、所得、資產與投資", "Income, earnings, assets and investments"),
    "C087": ("津貼、福利、贈款", "Allowances, benefits and grants"),
    "C088": ("保險細節", "Insurance details"),
    "C089": (
        "社會保險給付、就養給付及其他退休給付",
        "Social insurance benefits, veterans' support benefits and other retirement benefits",
    ),
    "C093": ("財務交易", "Financial transactions"),
    "C102": ("約定或契約", "Agreements or contracts"),
    "C103": ("與營業有關之執照", "Business-related licences"),
    "C111": ("健康紀錄", "Health records"),
    "C115": ("其他裁判及行政處分", "Other judgments and administrative dispositions"),
    "C116": ("犯罪嫌疑資料", "Criminal suspicion data"),
    "C120": ("宗教信仰", "Religious beliefs"),
    "C121": ("其他信仰", "Other beliefs"),
    "C131": ("書面文件之檢索", "Retrieval of written documents"),
    "C132": ("未分類之資料", "Unclassified data"),
}
