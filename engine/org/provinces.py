"""The provinces and centrally governed cities a unit may belong to.

Since 1 July 2025 (Nghị quyết 202/2025/QH15) Vietnam has 34 province-level units and two tiers of local
government (province and commune). A unit stores the code of its province; the names are what pages show.
When the list changes by law, change it here: a code in use must stay (a unit keeps its province).
"""

from __future__ import annotations

PROVINCES: dict[str, str] = {
    "ha-noi": "Thành phố Hà Nội",
    "hue": "Thành phố Huế",
    "hai-phong": "Thành phố Hải Phòng",
    "da-nang": "Thành phố Đà Nẵng",
    "ho-chi-minh": "Thành phố Hồ Chí Minh",
    "can-tho": "Thành phố Cần Thơ",
    "an-giang": "Tỉnh An Giang",
    "bac-ninh": "Tỉnh Bắc Ninh",
    "ca-mau": "Tỉnh Cà Mau",
    "cao-bang": "Tỉnh Cao Bằng",
    "dak-lak": "Tỉnh Đắk Lắk",
    "dien-bien": "Tỉnh Điện Biên",
    "dong-nai": "Tỉnh Đồng Nai",
    "dong-thap": "Tỉnh Đồng Tháp",
    "gia-lai": "Tỉnh Gia Lai",
    "ha-tinh": "Tỉnh Hà Tĩnh",
    "hung-yen": "Tỉnh Hưng Yên",
    "khanh-hoa": "Tỉnh Khánh Hòa",
    "lai-chau": "Tỉnh Lai Châu",
    "lam-dong": "Tỉnh Lâm Đồng",
    "lang-son": "Tỉnh Lạng Sơn",
    "lao-cai": "Tỉnh Lào Cai",
    "nghe-an": "Tỉnh Nghệ An",
    "ninh-binh": "Tỉnh Ninh Bình",
    "phu-tho": "Tỉnh Phú Thọ",
    "quang-ngai": "Tỉnh Quảng Ngãi",
    "quang-ninh": "Tỉnh Quảng Ninh",
    "quang-tri": "Tỉnh Quảng Trị",
    "son-la": "Tỉnh Sơn La",
    "tay-ninh": "Tỉnh Tây Ninh",
    "thai-nguyen": "Tỉnh Thái Nguyên",
    "thanh-hoa": "Tỉnh Thanh Hóa",
    "tuyen-quang": "Tỉnh Tuyên Quang",
    "vinh-long": "Tỉnh Vĩnh Long",
}


def province_name(code: str) -> str:
    """The province's name, or "" for a unit whose province is not entered yet."""
    return PROVINCES.get(code, code)
