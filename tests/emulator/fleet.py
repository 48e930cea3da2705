# Copyright (c) 2026, geelark.cloudphone contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The generated fleet: deterministic phones in the list endpoint's item shape, plus their true status."""

from __future__ import annotations

import random
from typing import Any, Dict, List, Optional

Phone = Dict[str, Any]

_GROUPS = [
    ("590711571886417453", "warmup", "accounts warming up"),
    ("590711571886417454", "tiktok-uk", "UK TikTok"),
    ("590711571886417455", "tiktok-us", "US TikTok"),
    ("590711571886417456", "reels", "Instagram reels"),
    ("590711571886417457", "support", "customer support"),
]
_TAGS = ["tiktok", "instagram", "uk", "us", "warm", "ads", "vip"]
_COUNTRIES = [
    ("United Kingdom", "+4477009", "Europe/London", "en-GB"),
    ("United States", "+1202555", "America/New_York", "en-US"),
    ("Germany", "+4915123", "Europe/Berlin", "de-DE"),
    ("Brazil", "+5511987", "America/Sao_Paulo", "pt-BR"),
]
_DEVICES = [("samsung", "Galaxy S23"), ("google", "Pixel 7"), ("xiaomi", "Redmi Note 12"), ("oneplus", "Nord 3")]
# True status weights: started, starting, shut down, expired.
_STATUS_WEIGHTS = [45, 5, 40, 10]


def make_phone(index: int, rng: random.Random, status: Optional[int] = None) -> Phone:
    """One phone of a deterministic fleet, in the API's list-item shape plus its true status."""
    group_id, group_name, group_remark = _GROUPS[index % len(_GROUPS)]
    country, prefix, tz, lang = _COUNTRIES[index % len(_COUNTRIES)]
    brand, model = _DEVICES[index % len(_DEVICES)]
    # Serial names are not unique in GeeLark: every 40th phone reuses its predecessor's name.
    name_index = index - 1 if index % 40 == 39 else index
    return {
        "id": str(601876382020000000 + index * 7919),
        "serialName": "%s-%05d" % (_GROUPS[name_index % len(_GROUPS)][1], name_index),
        "serialNo": str(index + 1),
        "group": {"id": group_id, "name": group_name, "remark": group_remark},
        "remark": "batch %d" % (index // 100),
        "status": status if status is not None else rng.choices(range(4), _STATUS_WEIGHTS)[0],
        "tags": [{"name": t} for t in rng.sample(_TAGS, 2)],
        "equipmentInfo": {
            "countryName": country, "phoneNumber": "%s%04d" % (prefix, index % 10000), "enableSim": 1,
            "imei": "35693803%07d" % index, "osVersion": "Android %d.0" % (11 + index % 3),
            "wifiBssid": _mac(rng), "mac": _mac(rng), "bluetoothMac": _mac(rng), "timeZone": tz,
            "deviceBrand": brand, "deviceModel": model, "deviceName": "", "netType": index % 2,
            "language": lang, "province": "", "city": "",
        },
        "proxy": {"type": "socks5", "server": "203.0.113.%d" % (index % 250 + 1), "port": 1080 + index % 100,
                  "username": "user%d" % index, "password": "proxy-secret-%d" % index},
        "chargeMode": index % 2, "hasBind": index % 2 == 1,
        "monthlyExpire": 1790000000 + index if index % 2 else 0,
        "rpaStatus": 0, "createTime": 1750000000 + index * 60,
    }


def make_fleet(count: int, seed: int = 1) -> List[Phone]:
    rng = random.Random(seed)
    return [make_phone(i, rng) for i in range(count)]


def _mac(rng: random.Random) -> str:
    return ":".join("%02X" % rng.randrange(256) for dummy in range(6))
