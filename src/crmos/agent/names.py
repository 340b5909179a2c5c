"""Common Chinese surnames (single characters), used to recognise people such as 王经理."""

from __future__ import annotations

SURNAMES = (
    "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜谢邹喻柏窦章苏潘葛范彭鲁韦"
    "马苗方俞任袁柳鲍史唐费薛雷贺倪汤殷罗毕郝安常傅齐康伍余顾孟黄穆萧尹姚邵汪祁毛狄贝戴宋茅庞熊纪"
    "舒屈项祝董梁杜阮蓝闵季贾路江童颜郭梅盛林钟徐邱骆高夏蔡田胡凌霍万柯卢莫房缪解应丁邓单洪包左"
    "石崔龚程邢裴陆荣翁甄曲封储段焦侯全龙叶黎白蒲赖卓屠乔谭姬申冉桑牛燕尚温庄柴阎连艾向易廖耿"
    "文寇欧聂曾沙关"
)
