"""The default consent categories, used when a policy declares none."""

from __future__ import annotations

from typing import Any

DEFAULT_CATEGORIES: list[dict[str, Any]] = [
    {
        "id": "necessary",
        "required": True,
        "legal_basis": "necessary",
        "title": {"en": "Strictly necessary", "zh-TW": "必要"},
        "description": {
            "en": "Needed for the site to work: security, signing in and remembering this choice. Always on.",
            "zh-TW": "網站運作所必需，例如安全防護、登入及記住您的選擇。此類別一律啟用。",
        },
    },
    {
        "id": "functional",
        "title": {"en": "Functional", "zh-TW": "功能"},
        "description": {
            "en": "Remembers settings such as your language, and loads embedded content you ask for.",
            "zh-TW": "記住語言等設定，並載入您要求的嵌入內容。",
        },
    },
    {
        "id": "analytics",
        "title": {"en": "Analytics", "zh-TW": "分析"},
        "description": {
            "en": "Counts visits and clicks so we can see how the site is used and improve it.",
            "zh-TW": "統計造訪與點擊次數，讓我們了解網站的使用情形並加以改善。",
        },
    },
    {
        "id": "marketing",
        "gpc": True,
        "title": {"en": "Marketing", "zh-TW": "行銷"},
        "description": {
            "en": "Lets advertising partners show you ads based on your interests and measure them.",
            "zh-TW": "讓廣告合作夥伴依您的興趣顯示廣告並衡量成效。",
        },
    },
]
