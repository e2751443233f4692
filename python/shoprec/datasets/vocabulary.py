"""The demo shop's words: categories, brands and adjectives in Chinese and English, and the
coupons and services a shop offers. Plain data, no logic."""

from __future__ import annotations

from typing import List, Tuple

#: (slug, Chinese name, English name, typical price in yuan)
CATEGORIES: List[Tuple[str, str, str, float]] = [
    ("phone", "手机", "phone", 2999.0),
    ("laptop", "笔记本电脑", "laptop", 5999.0),
    ("headphones", "耳机", "headphones", 399.0),
    ("running-shoes", "跑步鞋", "running shoes", 499.0),
    ("dress", "连衣裙", "dress", 259.0),
    ("coffee", "咖啡豆", "coffee beans", 89.0),
    ("tea", "茶叶", "tea", 129.0),
    ("face-mask", "面膜", "face mask", 99.0),
    ("lipstick", "口红", "lipstick", 199.0),
    ("toy", "积木玩具", "building blocks", 299.0),
    ("backpack", "双肩包", "backpack", 199.0),
    ("watch", "智能手表", "smart watch", 1299.0),
    ("rice-cooker", "电饭煲", "rice cooker", 399.0),
    ("yoga-mat", "瑜伽垫", "yoga mat", 89.0),
    ("baby-formula", "婴儿奶粉", "baby formula", 299.0),
    ("snacks", "零食礼包", "snack box", 59.0),
]

#: Brands per category slug (a brand may sell in several categories).
BRANDS = {
    "phone": ["华为", "小米", "Apple", "OPPO", "vivo"],
    "laptop": ["联想", "Apple", "华为", "Dell", "ASUS"],
    "headphones": ["Sony", "Bose", "小米", "漫步者", "Apple"],
    "running-shoes": ["Nike", "Adidas", "李宁", "安踏", "ASICS"],
    "dress": ["ZARA", "优衣库", "UR", "太平鸟"],
    "coffee": ["星巴克", "三顿半", "Lavazza", "雀巢"],
    "tea": ["八马", "大益", "立顿", "小罐茶"],
    "face-mask": ["美迪惠尔", "一叶子", "SK-II", "珀莱雅"],
    "lipstick": ["迪奥", "MAC", "完美日记", "花西子"],
    "toy": ["乐高", "布鲁可", "森宝", "Hasbro"],
    "backpack": ["新秀丽", "小米", "Nike", "Jansport"],
    "watch": ["华为", "Apple", "小米", "Garmin"],
    "rice-cooker": ["美的", "苏泊尔", "九阳", "小米"],
    "yoga-mat": ["Keep", "迪卡侬", "Lululemon"],
    "baby-formula": ["飞鹤", "美赞臣", "爱他美", "惠氏"],
    "snacks": ["三只松鼠", "良品铺子", "百草味"],
}

#: (Chinese, English) adjectives; a title takes one or two.
ADJECTIVES: List[Tuple[str, str]] = [
    ("轻薄", "slim"), ("无线", "wireless"), ("防水", "waterproof"), ("降噪", "noise cancelling"),
    ("新款", "new"), ("经典", "classic"), ("便携", "portable"), ("大容量", "large"),
    ("透气", "breathable"), ("有机", "organic"), ("保湿", "moisturizing"), ("儿童", "kids"),
    ("男士", "men's"), ("女士", "women's"), ("高端", "premium"), ("限量", "limited edition"),
]

#: Coupons and services, the second catalogue: (id, name, category slug or "" for any).
COUPONS: List[Tuple[str, str, str]] = [
    ("c-free-shipping", "免运费券 free shipping", ""),
    ("c-new-member", "新人礼包 new member gift", ""),
    ("c-10-off-200", "满200减10 10 off 200", ""),
    ("c-phone-tradein", "手机以旧换新 phone trade-in", "phone"),
    ("c-phone-screen", "碎屏险 screen insurance", "phone"),
    ("c-laptop-warranty", "电脑延保 laptop extended warranty", "laptop"),
    ("c-laptop-setup", "上门装机 laptop setup service", "laptop"),
    ("c-audio-20", "耳机满减券 headphones coupon", "headphones"),
    ("c-shoes-fit", "跑鞋试穿服务 running shoes fitting", "running-shoes"),
    ("c-shoes-50", "运动鞋50元券 shoes 50 off", "running-shoes"),
    ("c-dress-tailor", "免费改衣 free tailoring", "dress"),
    ("c-coffee-sub", "咖啡订阅 coffee subscription", "coffee"),
    ("c-coffee-grind", "免费研磨 free grinding", "coffee"),
    ("c-tea-gift", "茶叶礼盒包装 tea gift wrapping", "tea"),
    ("c-beauty-trial", "美妆试用装 beauty samples", "face-mask"),
    ("c-lipstick-engrave", "口红刻字 lipstick engraving", "lipstick"),
    ("c-toy-15", "玩具满减券 toy coupon", "toy"),
    ("c-bag-repair", "箱包维修 bag repair", "backpack"),
    ("c-watch-strap", "表带换新 watch strap service", "watch"),
    ("c-kitchen-install", "厨电安装 kitchen install", "rice-cooker"),
    ("c-yoga-class", "瑜伽体验课 yoga trial class", "yoga-mat"),
    ("c-baby-delivery", "奶粉定期送 formula delivery", "baby-formula"),
    ("c-baby-consult", "育儿咨询 parenting consultation", "baby-formula"),
    ("c-snack-bundle", "零食第二件半价 snacks half price", "snacks"),
]
