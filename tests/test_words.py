"""The text stage's words: jieba's segmentation and tags, owned by one rule set."""
from __future__ import annotations

import pickle

from pipeline.text.words import Words


def test_terms_are_kept_whole_and_tagged_as_nouns() -> None:
    plain, field = Words(()), Words(("高价值发明专利",))
    assert ("高价值发明专利", "n") in field.tagged("高价值发明专利拥有量")
    assert ("高价值发明专利", "n") not in plain.tagged("高价值发明专利拥有量")


def test_one_rule_sets_terms_never_reach_another() -> None:
    """Each Words owns its tokenizer: adding terms to one changes nothing in another (or in jieba's)."""
    import jieba

    jieba.dt.check_initialized()
    plain = Words(())
    before = plain.cut("开展专利导航服务")
    assert "专利导航服务" in Words(("专利导航服务",)).cut("开展专利导航服务")
    assert plain.cut("开展专利导航服务") == before and "专利导航服务" not in before
    assert "专利导航服务" not in jieba.dt.FREQ


def test_mixed_text_is_tagged_like_jiebas_tagger() -> None:
    words = Words(())
    tagged = words.tagged("5G基站12座 新增")
    assert ("5G", "eng") in tagged and (" ", "x") in tagged
    assert "".join(w for w, _ in tagged) == "5G基站12座 新增"


def test_a_pickled_words_travels_as_its_terms() -> None:
    words = Words(("质押融资",))
    words.tagged("知识产权质押融资金额")  # loads the dictionary
    data = pickle.dumps(words)
    assert len(data) < 1000
    assert pickle.loads(data).tagged("知识产权质押融资金额") == words.tagged("知识产权质押融资金额")
