"""Normalization, the gazetteer and entity extraction (pure functions, no Rasa server)."""
from __future__ import annotations

import pytest

from bot.nlp.entities import extract
from bot.nlp.gazetteer import Gazetteer
from bot.nlp.normalize import fold, has_meaningful_text, kanji_to_int, normalize


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("第７回総会の会場は？", "第7回総会の会場は?"),
        ("第七回総会", "第7回総会"),
        ("第十二回の総会", "第12回の総会"),
        ("二十五回目", "25回目"),
        ("ＦＵＪＩＴＳＵの発表", "FUJITSUの発表"),
        ("ﾖｼｶﾜｼ", "ヨシカワシ"),
        ("  総会\t\n の  日程 ", "総会 の 日程"),
        ("総会\x00の\x1b日程", "総会 の 日程"),
        ("㍻30年", "平成30年"),
    ],
)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_normalize_handles_nothing_and_huge_input():
    assert normalize(None) == ""
    assert normalize("") == ""
    assert len(normalize("あ" * 100_000)) == 1000


def test_kanji_numbers():
    assert [kanji_to_int(t) for t in ("七", "十", "十二", "二十", "百三", "二〇一八")] == [7, 10, 12, 20, 103, 2018]
    assert kanji_to_int("回") is None


def test_fold_keeps_length_and_unifies_kana_and_case():
    assert fold("スミダク MRI") == "すみだく mri"
    assert len(fold("ヴァイオリン")) == len("ヴァイオリン")


def test_meaningful_text():
    assert not has_meaningful_text("😀🎉 !?")
    assert has_meaningful_text("総会")
    assert has_meaningful_text("7")


@pytest.fixture(scope="module")
def gazetteer():
    return Gazetteer(
        [
            ("府中市", "municipality", "府中市"),
            ("東京都府中市", "municipality", "東京都府中市"),
            ("すみだく", "municipality", "墨田区"),
            ("墨田区", "municipality", "墨田区"),
            ("つし", "municipality", "津市"),
            ("富士通", "organization", "富士通株式会社"),
            ("FUJITSU", "organization", "富士通株式会社"),
            ("MRI", "organization", "株式会社三菱総合研究所"),
            ("いつ", "attribute", "date"),
            ("会場", "attribute", "where"),
        ]
    )


def test_gazetteer_longest_match_and_canonical_values(gazetteer):
    found = extract(gazetteer, "東京都府中市の会場はいつ")
    assert [(e["entity"], e["value"]) for e in found] == [
        ("municipality", "東京都府中市"), ("attribute", "where"), ("attribute", "date")
    ]


def test_gazetteer_matches_kana_and_case_variants(gazetteer):
    assert [e["value"] for e in extract(gazetteer, "スミダクの発表")] == ["墨田区"]
    assert [e["value"] for e in extract(gazetteer, "fujitsuの発表")] == ["富士通株式会社"]


def test_short_kana_names_and_embedded_romaji_do_not_match(gazetteer):
    assert extract(gazetteer, "いつしたの") == [{"entity": "attribute", "start": 0, "end": 2, "value": "date"}]
    assert extract(gazetteer, "primary school") == []


def test_short_cues_inside_katakana_words_do_not_match(gazetteer):
    # いつ folds to イツ, which is not a question inside スカイツリー; スミダク is still a name in katakana
    assert extract(gazetteer, "東京スカイツリーの高さは") == []
    assert [e["value"] for e in extract(gazetteer, "スミダクノハッピョウハ")] == ["墨田区"]
    # いつ folds to いツ, which ends inside ツアー: 「いいツアーでした」 asks no date
    assert extract(gazetteer, "いいツアーでした") == []
    assert [e["value"] for e in extract(gazetteer, "イツでしたか?")] == ["date"]


def test_numbers_become_assembly_numbers_and_codes(gazetteer):
    values = [(e["entity"], e["value"]) for e in extract(gazetteer, "第7回総会と131211")]
    assert values == [("assembly_number", "7"), ("lg_code", "131211")]
    assert [(e["entity"], e["value"]) for e in extract(gazetteer, "最新の総会")] == [("assembly_number", "latest")]
    assert [(e["entity"], e["value"]) for e in extract(gazetteer, "次回の総会")] == [("assembly_number", "next")]
    assert [(e["entity"], e["value"]) for e in extract(gazetteer, "12回目の総会")] == [("assembly_number", "12")]


# --- views of a parsed message (bot/nlp/feature_views.py) ------------------------------------------------


@pytest.fixture(scope="module")
def ginza():
    import spacy

    from bot.nlp.components.language import GinzaNLP

    return spacy.load("ja_ginza", exclude=GinzaNLP.get_default_config()["exclude"])


@pytest.mark.parametrize("text, sign", [
    ("間違っていませんでした", "POL+"), ("間違ってないです", "POL+"), ("問題ない回答でした", "POL+"),
    ("回答に間違いはありません", "POL+"), ("正しかったです", "POL+"), ("わかりやすかった", "POL+"),
    ("間違っていました", "POL-"), ("正しくないです", "POL-"), ("役に立たなかった", "POL-"),
    ("わかりにくい", "POL-"), ("求めていた答えではありません", "POL-"), ("期待はずれでした", "POL-"),
    ("👍 助かった", "POL+"), ("申し分ない回答です", "POL+"), ("誤りはありませんでした", "POL+"),
    ("👎 的外れ", "POL-"), ("間違いだらけで最悪", "POL-"), ("不満はありません", "POL+"),
    ("総会には行けませんでした", "NEG"), ("総会の会場はどこですか", None), ("助かりました", None),
    ("that answer wasn't helpful", "POL-"), ("that's not right", "POL-"), ("that's incorrect", "POL-"),
    ("the answer is accurate", "POL+"), ("that's not wrong", "POL+"), ("it doesn't help", "NEG"),
    ("that's right", "POL+"), ("ライトアップの場所は", None), ("クリアファイルは配られましたか", None),
    ("👎 正しくない", "POL-"), ("👎 答えになってない", "POL-"), ("👍 間違いなし", "POL+"), ("👍👎", None),
    ("実際に役立つ情報でした", "POL+"), ("不足のない回答でした", "POL+"), ("ちゃいますやん", "POL-"),
    ("thumbs down", "POL-"), ("Thumbs up!", "POL+"), ("低評価です", "POL-"), ("高評価です", "POL+"),
])
def test_the_polarity_of_an_evaluation_follows_its_negations(ginza, text, sign):
    from bot.nlp.feature_views import polarity

    assert polarity(ginza(text)) == sign


def test_a_negation_marks_the_word_it_applies_to(ginza):
    from bot.nlp.feature_views import negated_words

    assert negated_words(ginza("回答はよくなかったです")) == ["回答", "良い¬"]
    assert negated_words(ginza("間違いはありません")) == ["間違い¬"]
    assert negated_words(ginza("役に立ちませんでした")) == ["役", "立つ¬"]


def test_typos_kana_and_romaji_sound_like_the_kanji(ginza):
    from bot.nlp.feature_views import sound_key

    keys = {sound_key(ginza(text)) for text in ("事務局", "事務曲", "じむきょく", "ジムキョク", "jimukyoku")}
    assert keys == {"jimukyoku"}
    assert sound_key(ginza("総会")) == sound_key(ginza("soukai")) == sound_key(ginza("sokai"))
    assert sound_key(ginza("会場")) != sound_key(ginza("会長"))
    assert sound_key(ginza("参加者は何人")) == sound_key(ginza("sankasha wa nannin"))


@pytest.mark.parametrize("romaji, kana", [
    ("sumida-ku no happyou wa?", "すみだくのはっぴょうは?"),
    ("Yoshikawa-shi no jinkou", "よしかわしのじんこう"),
    ("jisshou jikken no kekka wa dou datta", "じっしょうじっけんのけっかはどうだった"),
    ("tantou no kata wo onegai shimasu", "たんとうのかたをおねがいします"),
    ("kon'ya", "こんや"), ("matcha", "まっちゃ"), ("machigatteru", "まちがってる"),
    ("dai 7 kai soukai no basho", "だい 7 かいそうかいのばしょ"),
    ("toukyou ni sumu", "とうきょうにすむ"), ("sinbun wo yomu", "しんぶんをよむ"), ("shimbun", "しんぶん"),
    ("ken-ichi", "けんいち"), ("kon’ya", "こんや"), ("Ōsaka desu", "おうさかです"), ("Gumma-ken", "ぐんまけん"),
])
def test_a_question_typed_in_romaji_is_read_in_kana(romaji, kana):
    from bot.nlp.kana import romaji_to_kana

    assert romaji_to_kana(romaji) == kana


@pytest.mark.parametrize("text", [
    "thank you", "hello", "good evening", "help me", "ok", "AIスタッフ", "MRIの発表", "ttyl", "7kai", "総会の会場",
    "see you", "awesome", "gotta go", "NISAって何", "fujitsu no AI", "naïve desu", "Wi-Fiのパスワードは",
])
def test_english_and_japanese_are_not_taken_for_romaji(text):
    from bot.nlp.kana import romaji_to_kana

    assert romaji_to_kana(text) is None


def test_the_parser_reads_a_romaji_question_like_its_kana_spelling():
    # the words, vectors and views of 「sumida-ku no happyou wa?」 are those of 「すみだくのはっぴょうは?」
    from bot.nlp.components.language import GinzaNLP

    nlp = GinzaNLP.create({}, None, None, None)
    romaji = nlp._doc_for_text(nlp.provide().model, "Sumida-ku no happyou wa?")
    kana = nlp._doc_for_text(nlp.provide().model, "すみだくのはっぴょうは?")
    assert [t.text for t in romaji] == [t.text for t in kana]
    assert "happyou" not in romaji.text


@pytest.mark.parametrize("analyzer, view", [("word", "words"), ("char_wb", "characters")])
def test_word_and_character_views_count_what_rasas_featurizer_counts(tmp_path, analyzer, view):
    # the same messages through GinzaNLP, Rasa's SpacyTokenizer and a real CountVectorsFeaturizer
    from collections import Counter

    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.nlu.constants import SPACY_DOCS
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
    from rasa.nlu.tokenizers.spacy_tokenizer import SpacyTokenizer
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.nlp.components.featurizers import VIEWS
    from bot.nlp.components.language import GinzaNLP

    nlp = GinzaNLP.create({}, None, None, None)
    tokenizer = SpacyTokenizer(SpacyTokenizer.get_default_config())
    texts = ["第7回総会の会場はどこですか?", "OK, 7 thanks!", "吉川市 a", "sumida-ku no happyou wa?",
             "事務局の電話番号を教えて"]
    messages = [Message(data={"text": t, "intent": "x"}) for t in texts]
    nlp.process(messages, nlp.provide())
    tokenizer.process(messages)
    config = {**CountVectorsFeaturizer.get_default_config(), "analyzer": analyzer, "min_ngram": 1,
              "max_ngram": 3 if analyzer == "char_wb" else 1}
    counter = CountVectorsFeaturizer.create(config, LocalModelStorage(tmp_path), Resource(view),
                                            ExecutionContext(GraphSchema({}), node_name=view))
    counter.train(TrainingData(messages))
    vocabulary = {i: term for term, i in counter.vectorizers["text"].vocabulary_.items()}
    for message in messages:
        row = counter.vectorizers["text"].transform(
            [" ".join(counter._get_processed_message_tokens_by_attribute(message))])
        rasas = Counter({vocabulary[i]: int(n) for i, n in zip(row.indices, row.data)})
        assert Counter(VIEWS[view](message.get(SPACY_DOCS["text"]))) == rasas, message.get("text")


def test_a_view_counts_the_terms_it_never_saw_in_its_last_column(ginza, tmp_path):
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.nlu.constants import SPACY_DOCS
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.nlp.components.featurizers import ViewFeaturizer

    def message(text):
        return Message(data={"text": text, SPACY_DOCS["text"]: ginza(text)})

    featurizer = ViewFeaturizer({**ViewFeaturizer.get_default_config(), "view": "words"}, LocalModelStorage(tmp_path),
                                Resource("words"),
                                ExecutionContext(GraphSchema({}), node_name="words"))
    featurizer.train(TrainingData([message("総会の会場"), message("会場はどこ")]))
    width = len(featurizer.vocabulary) + 1

    def row(text):
        found = message(text)
        featurizer.process([found])
        sentence = found.get_sparse_features("text")[1].features.toarray().ravel()
        assert sentence.shape == (width,)
        return sentence

    assert row("総会の会場")[-1] == 0  # every word known
    unseen = row("総会の日程と天気")
    assert unseen[-1] == 3  # 日程, と, 天気
    assert unseen[featurizer.vocabulary["総会"]] == 1


def test_a_name_late_in_a_romaji_message_still_marks_its_lookup_table(tmp_path):
    # the tokens come from the kana reading, shorter than the text as typed; the mark must not be lost
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.nlu.tokenizers.spacy_tokenizer import SpacyTokenizer
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.nlp.components.featurizers import LookupFeaturizer
    from bot.nlp.components.language import GinzaNLP

    nlp = GinzaNLP.create({}, None, None, None)
    tokenizer = SpacyTokenizer(SpacyTokenizer.get_default_config())
    config = {**LookupFeaturizer.get_default_config(), "use_word_boundaries": False, "case_sensitive": False}
    featurizer = LookupFeaturizer.create(config, LocalModelStorage(tmp_path), Resource("lookups"),
                                         ExecutionContext(GraphSchema({}), node_name="lookups"))
    featurizer.train(TrainingData(lookup_tables=[{"name": "municipality", "elements": ["墨田区", "sumida-ku"]}]))

    def marked(text):
        message = Message(data={"text": text})
        nlp.process([message], nlp.provide())
        tokenizer.process([message])
        featurizer.process([message])
        return message.get_sparse_features("text")[1].features.toarray().ravel().tolist()

    assert marked("happyou shita no wa sumida-ku desu ka") == [1.0]
    assert marked("墨田区の発表") == [1.0]
    assert marked("happyou shita no wa doko desu ka") == [0.0]

    # where tokens and text agree, its token and sentence marks are Rasa's
    from rasa.nlu.featurizers.sparse_featurizer.regex_featurizer import RegexFeaturizer

    rasas = RegexFeaturizer.create(config, LocalModelStorage(tmp_path / "rasa"), Resource("regex"),
                                   ExecutionContext(GraphSchema({}), node_name="regex"))
    rasas.known_patterns = featurizer.known_patterns
    for text in ("墨田区と吉川市の発表", "すみだくの発表", "総会の会場"):
        ours, theirs = Message(data={"text": text}), Message(data={"text": text})
        for message in (ours, theirs):
            nlp.process([message], nlp.provide())
            tokenizer.process([message])
        featurizer.process([ours])
        rasas.process([theirs])
        for kind in (0, 1):
            assert (ours.get_sparse_features("text")[kind].features.toarray()
                    == theirs.get_sparse_features("text")[kind].features.toarray()).all(), text


def test_the_cues_view_reads_what_a_message_names_and_asks_for(gazetteer):
    from rasa.shared.nlu.training_data.message import Message

    from bot.nlp.components.featurizers import cue_terms

    def cues(text):
        return cue_terms(Message(data={"text": text, "entities": extract(gazetteer, normalize(text))}))

    assert cues("墨田区の会場はいつ") == ["municipality", "attribute", "attribute=where", "attribute", "attribute=date"]
    assert cues("イツでしたか") == cues("いつでしたか") == ["attribute", "attribute=date"]
    assert cues("こんにちは") == []


def test_word_lists_mark_either_kana_and_whole_latin_words_in_their_own_block(tmp_path):
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.nlu.tokenizers.spacy_tokenizer import SpacyTokenizer
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.nlp.components.featurizers import LookupFeaturizer
    from bot.nlp.components.language import GinzaNLP

    nlp = GinzaNLP.create({}, None, None, None)
    tokenizer = SpacyTokenizer(SpacyTokenizer.get_default_config())
    data = TrainingData(lookup_tables=[
        {"name": "municipality", "elements": ["墨田区"]},
        {"name": "gratitude", "elements": ["サンキュー", "ty", "thank you"]},
        {"name": "greeting", "elements": ["sup", "こんにちは", "おはよう"]},
    ])

    def featurizer(tables):
        config = {**LookupFeaturizer.get_default_config(), "use_word_boundaries": False, "case_sensitive": False,
                  "lexicons": ["gratitude", "greeting"], "tables": tables}
        (tmp_path / tables).mkdir()
        made = LookupFeaturizer.create(config, LocalModelStorage(tmp_path / tables), Resource(tables),
                                       ExecutionContext(GraphSchema({}), node_name=tables))
        made.train(data)
        return made

    lexicons, names = featurizer("lexicons"), featurizer("names")
    assert [p["name"] for p in lexicons.known_patterns] == ["gratitude", "greeting"]
    assert [p["name"] for p in names.known_patterns] == ["municipality"]

    def marked(text, made=lexicons):
        message = Message(data={"text": text})
        nlp.process([message], nlp.provide())
        tokenizer.process([message])
        made.process([message])
        return message.get_sparse_features("text")[1].features.toarray().ravel().tolist()

    assert marked("さんきゅー!") == [1.0, 0.0]  # the list has サンキュー
    assert marked("Thank you so much") == [1.0, 0.0]
    assert marked("sup") == [0.0, 1.0]
    assert marked("ohayou gozaimasu") == [0.0, 1.0]  # a romaji message is also read in kana (おはよう…)
    assert marked("コンニチハ、墨田区の発表は?") == [0.0, 1.0]
    # Latin words only whole: not in "support", "city" or "typhoon"
    assert marked("support for the city after the typhoon") == [0.0, 0.0]
    assert marked("墨田区の発表") == [0.0, 0.0]
    assert marked("墨田区の発表", names) == [1.0]
    with pytest.raises(ValueError):
        featurizer("some")


def test_a_message_is_scored_with_the_weighting_the_classifier_was_trained_on():
    # process() scores one message from its stored values; training weighs whole matrices. Both must agree,
    # or the model would see other features in use than in training.
    import numpy as np
    import scipy.sparse

    from bot.nlp.components.linear import LinearIntentClassifier

    rng = np.random.default_rng(7)
    layout = [["words:sparse", "sparse", 40], ["vectors:dense", "dense", 6], ["sound:sparse", "sparse", 25]]
    state = {"layout": layout, "classes": ["a", "b", "c"], "coef": rng.normal(size=(3, 71)),
             "intercept": rng.normal(size=3), "idf": {"words:sparse": rng.uniform(1, 4, 40),
                                                      "sound:sparse": rng.uniform(1, 4, 25)}}
    classifier = LinearIntentClassifier({"weights": {"sound": 2.0}}, None, None, state)
    messages = []
    for _ in range(5):
        found = {"words:sparse": scipy.sparse.random(1, 40, density=0.1, random_state=rng, format="coo") * 3,
                 "vectors:dense": rng.normal(size=(1, 6))}
        if rng.random() < 0.7:
            found["sound:sparse"] = scipy.sparse.random(1, 25, density=0.2, random_state=rng, format="coo")
        messages.append(found)
    matrix = classifier._matrix(messages)
    trained = np.asarray(matrix @ state["coef"].T) + state["intercept"]
    scored = np.vstack([classifier._scores(found) for found in messages])
    assert np.allclose(trained, scored)
    # each block has unit length, times its weight: the sound block counts double
    lengths = np.sqrt(np.asarray(matrix.multiply(matrix)[:, 46:].sum(axis=1))).ravel()
    assert np.allclose(lengths, [2.0 if "sound:sparse" in found else 0.0 for found in messages])


# -- the asking parts of a message (bot/nlp/focus.py) ------------------------------------------------
def test_two_asks_in_one_sentence_become_two_parts():
    from bot.nlp.focus import asking_sentences

    # a detail named before an embedded question: 「お名前と、…何を…のか、教えて」
    parts = asking_sentences("発表された方のお名前と、そのポイントで住民に何を買ってもらう狙いなのか、"
                             "教えていただけますか。")
    assert parts[0].startswith("発表された方のお名前と") and len(parts) == 2
    # two questions joined by a て-form, each with its question word
    parts = asking_sentences("国はどういう方針に基づいて取組を進めていて、"
                             "委託を広げるために何をしていくのでしょうか。")
    assert parts == ["国はどういう方針に基づいて取組を進めていて", "委託を広げるために何をしていくのでしょうか。"]
    # 「…のか気になります」 asks; a て-form without a second question word stays one question
    wonder = "実際の画面を見せていたのかも気になります！"
    assert asking_sentences(wonder) == [wonder]
    assert asking_sentences("資料を見て、内容を確認したいです。") == ["資料を見て、内容を確認したいです。"]
    assert asking_sentences("京都府と、墨田区の発表を比べました。") == []  # a plain statement asks nothing
