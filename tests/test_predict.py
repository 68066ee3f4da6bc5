"""Prediction: the Tagger API and ``kzner predict`` on a model whose output is
known in advance (every word its own LOC entity), so offsets, formats and
long-document handling can be checked exactly."""

from __future__ import annotations

import json
import math
import sys
from io import BytesIO, TextIOWrapper
from pathlib import Path

import pytest
import torch

from kzner.cli import main
from kzner.errors import KznerError
from kzner.inputs import Shard, plan, read_sources
from kzner.labelstudio import read_exports
from kzner.predict import Tagger
from kzner.tokenize import tokenize

ROOT = Path(__file__).resolve().parents[1]
# The tagger's probability for B-LOC: logit 5 against 12 other tags at 0.
SCORE = round(math.exp(5) / (math.exp(5) + 12), 4)
TEXT = " «AMANAT»\u00a0партиясы\r\nҚызылорда  облысында 91,4 пайызға жетті. \U0001f600 №5 мектеп.\r\n"


@pytest.fixture(scope="module")
def model_dir(word_tagger_dir: Path) -> Path:
    return word_tagger_dir


@pytest.fixture(scope="module")
def tagger(model_dir: Path) -> Tagger:
    return Tagger.load(model_dir, device="cpu")


def test_every_entity_cuts_back_out_of_the_original_text(tagger: Tagger) -> None:
    entities = tagger(TEXT)
    words = tokenize(TEXT)
    assert [(e.start, e.end, e.text) for e in entities] == [(w.start, w.end, w.text) for w in words]
    for e in entities:
        assert TEXT[e.start : e.end] == e.text and e.label == "LOC" and e.score == SCORE
    assert tagger.pipe(["", "   \r\n"]) == [[], []]


@pytest.mark.integration
def test_a_hundred_page_report_is_tagged_to_the_last_word(tagger: Tagger, report_texts) -> None:
    # ~100 pages of real report text, and one 'sentence' of 3,000 words with no
    # full stop or line break: it needs hundreds of 16-token windows.
    text = "".join(report_texts.values()) * 12 + " ".join(["Қызылорда"] * 3000)
    assert len(text) > 100_000
    entities = tagger(text)
    assert len(entities) == len(tokenize(text))
    assert entities[-1].end == len(text.rstrip())
    assert all(text[e.start : e.end] == e.text for e in entities)


def write(folder: Path, name: str, content: bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_predict_reads_folders_jsonl_and_stdin(model_dir: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    write(tmp_path / "in", "a.txt", TEXT.encode())
    write(tmp_path / "in", "deep/b.txt", "Арал ауданы".encode())
    write(tmp_path / "in", "deep/empty.txt", b"")
    write(tmp_path / "in", "notes.md", b"not a report")  # folders yield .txt and .jsonl only
    jsonl = write(
        tmp_path,
        "docs.jsonl",
        '{"id": "x1", "body": "Шиелі ауданы"}\n\n{"body": "Алматы"}\n'.encode(),
    )
    monkeypatch.setattr(sys, "stdin", TextIOWrapper(BytesIO("Түркістан облысы".encode())))
    out = tmp_path / "out.jsonl"
    args = ["predict", "--model", str(model_dir), str(tmp_path / "in"), str(jsonl), "-", "--output", str(out)]
    assert main([*args, "--text-field", "body"]) == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    ids = [line["id"] for line in lines]
    # Ids relative to the input root: no local path of this machine in the output.
    assert ids == ["a.txt", "deep/b.txt", "deep/empty.txt", "x1", "docs.jsonl:3", "-"]
    assert [len(line["entities"]) for line in lines] == [len(tokenize(TEXT)), 2, 0, 2, 1, 2]
    assert lines[0]["entities"][1] == {"start": 2, "end": 8, "label": "LOC", "text": "AMANAT", "score": SCORE}
    assert "6 documents, " in capsys.readouterr().err


def test_stdin_jsonl_is_read_a_record_at_a_time(model_dir: Path, tmp_path: Path, monkeypatch) -> None:
    records = '{"id": "x1", "text": "Шиелі ауданы"}\n{"text": "Алматы"}\n'
    monkeypatch.setattr(sys, "stdin", TextIOWrapper(BytesIO(records.encode())))
    out = tmp_path / "out.jsonl"
    assert main(["predict", "--model", str(model_dir), "-", "--stdin-jsonl", "--output", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(line["id"], len(line["entities"])) for line in lines] == [("x1", 2), ("-:2", 1)]


def test_unreadable_inputs_name_the_file(model_dir: Path, tmp_path: Path, capsys) -> None:
    good = write(tmp_path, "good.txt", "Арал".encode())
    bad = write(tmp_path, "bad.txt", b"\xd0\x90\xff\xfe")
    broken = write(tmp_path, "broken.jsonl", b'{"text": "ok"}\n{"text": 5}\n{oops\n')
    out = tmp_path / "out.jsonl"
    assert main(["predict", "--model", str(model_dir), str(good), str(bad), "--output", str(out)]) == 2
    assert f"{bad}: not UTF-8 (byte 2" in capsys.readouterr().err
    assert not out.exists(), "a failed run must not leave an output that looks complete"
    missing = tmp_path / "missing.txt"
    args = [str(good), str(bad), str(broken), str(missing), "--output", str(out), "--skip-errors"]
    assert main(["predict", "--model", str(model_dir), *args]) == 1
    err = capsys.readouterr().err
    assert f"failed: {bad}: not UTF-8" in err
    assert f"failed: {broken}:2: expected an object with a string field 'text'" in err
    assert f"failed: {broken}:3: not JSON" in err
    assert f"failed: {missing}: cannot read" in err
    assert "2 documents, " in err and "4 inputs failed" in err
    assert len(out.read_text().splitlines()) == 2


def test_an_output_inside_the_input_folder_is_not_read_back(
    model_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    docs = tmp_path / "docs"
    write(docs, "a.txt", "Арал ауданы".encode())
    out = docs / "out.jsonl"
    assert main(["predict", "--model", str(model_dir), str(docs), "--output", str(out)]) == 0
    written = out.read_text(encoding="utf-8")
    assert [json.loads(line)["id"] for line in written.splitlines()] == ["a.txt"]
    # Again, typed another way: last run's JSONL is not a document (it has no text field).
    monkeypatch.chdir(tmp_path)
    assert [f.id for f in plan(["docs"], output="docs/./out.jsonl")] == ["a.txt"]
    assert [f.id for f in plan(["docs"])] == ["a.txt", "out.jsonl"]
    assert main(["predict", "--model", str(model_dir), "docs", "--output", "docs/./out.jsonl"]) == 0
    assert out.read_text(encoding="utf-8") == written
    with pytest.raises(KznerError, match="is both an input and --output"):
        plan([str(out)], output="docs/out.jsonl")


def test_jsonl_is_read_a_record_at_a_time(tmp_path: Path) -> None:
    from kzner.inputs import read_sources

    path = write(tmp_path, "docs.jsonl", b'{"id": "a", "text": "\xd0\x90"}\n')
    sources = read_sources(plan([str(path)]))
    assert next(sources).id == "a"
    # Written after the first record was taken: a whole-file read would never see it.
    with path.open("ab") as f:
        f.write(b'{"id": "b", "text": "x"}\n')
    assert [s.id for s in sources] == ["b"]


def test_shards_split_the_input_without_overlap(tmp_path: Path, monkeypatch) -> None:
    for i in range(40):
        write(tmp_path / "docs", f"{i:02}.txt", f"Құжат {i}".encode())
    write(tmp_path, "more.jsonl", "".join(f'{{"id": "j{i}", "text": "т"}}\n' for i in range(40)).encode())
    inputs = [str(tmp_path / "docs"), str(tmp_path / "more.jsonl")]
    everything = [s.id for s in read_sources(plan(inputs))]
    shards = [[s.id for s in read_sources(plan(inputs, Shard(i, 3)), shard=Shard(i, 3))] for i in (1, 2, 3)]
    assert sorted(sum(shards, [])) == sorted(everything) and len(everything) == 80
    assert all(10 <= len(s) <= 45 for s in shards)  # every shard gets a share
    # The same folder typed another way: the same documents in the same shard.
    monkeypatch.chdir(tmp_path)
    typed_relative = [[s.id for s in read_sources(plan(["docs"], Shard(i, 3)))] for i in (1, 2, 3)]
    assert typed_relative == [[i for i in shard if i.endswith(".txt")] for shard in shards]
    with pytest.raises(KznerError, match="--shard wants I/N"):
        Shard.parse("0/3")


def test_conll_output_reads_back_as_the_same_entities(
    model_dir: Path, tmp_path: Path, tagger: Tagger
) -> None:
    source = write(tmp_path, "r.txt", "Арал ауданы. Шиелі\r\nауданы «Жайлы мектеп»".encode())
    out = tmp_path / "r.conll"
    assert (
        main(["predict", "--model", str(model_dir), str(source), "--format", "conll", "--output", str(out)])
        == 0
    )
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[:4] == ["-DOCSTART- -X- O O", "", "Арал -X- _ B-LOC", "ауданы -X- _ B-LOC"]
    docs, report = read_exports([out])
    assert not report.errors
    read_back = [doc.span_text(s) for doc in docs for s in doc.spans]
    assert read_back == [e.text for e in tagger(source.read_text(encoding="utf-8"))]


def test_min_score_leaves_out_less_certain_entities(model_dir: Path, tmp_path: Path) -> None:
    source = write(tmp_path, "r.txt", TEXT.encode())
    counts = {}
    for threshold in ("0", str(SCORE - 0.01), str(SCORE + 0.01)):
        out = tmp_path / f"{threshold}.jsonl"
        assert (
            main(
                [
                    "predict",
                    "--model",
                    str(model_dir),
                    str(source),
                    "--output",
                    str(out),
                    "--min-score",
                    threshold,
                ]
            )
            == 0
        )
        counts[threshold] = len(json.loads(out.read_text(encoding="utf-8"))["entities"])
    assert list(counts.values()) == [len(tokenize(TEXT))] * 2 + [0]


def test_labelstudio_and_html_outputs(model_dir: Path, tmp_path: Path) -> None:
    source = write(tmp_path, "r.txt", TEXT.encode())
    out = tmp_path / "tasks.json"
    base = ["predict", "--model", str(model_dir), str(source)]
    assert main([*base, "--format", "labelstudio", "--output", str(out)]) == 0
    (task,) = json.loads(out.read_text(encoding="utf-8"))
    assert task["data"] == {"text": TEXT, "source": "r.txt"}  # not the local path of this machine
    (prediction,) = task["predictions"]
    assert prediction["model_version"].startswith("model-") and 0 < prediction["score"] <= 1
    for result in prediction["result"]:
        assert (result["from_name"], result["to_name"], result["type"]) == ("label", "text", "labels")
        value = result["value"]
        assert TEXT[value["start"] : value["end"]] == value["text"] and value["labels"] == ["LOC"]
    assert len({r["id"] for r in prediction["result"]}) == len(prediction["result"])
    page = tmp_path / "page.html"
    assert main([*base, "--format", "html", "--output", str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    assert '<mark class="LOC">AMANAT<sub>LOC</sub></mark>' in html
    assert html.count("<mark ") == len(tokenize(TEXT)) and "<h2>r.txt</h2>" in html


def test_labelstudio_output_follows_the_package_not_todays_schema(model_dir: Path, tmp_path: Path) -> None:
    """A package from another kzner version: its config.yaml has keys today's
    schema does not know, and its kzner.json predates the labelstudio names."""
    import shutil

    old = tmp_path / "old-model"
    shutil.copytree(model_dir, old)
    (old / "config.yaml").write_text(
        "labelstudio: {control: ner, text_field: body}\ndata: {a_key_from_another_version: 1}\n"
    )
    source = write(tmp_path, "r.txt", TEXT.encode())
    out = tmp_path / "tasks.json"
    command = ["predict", "--model", str(old), str(source), "--format", "labelstudio", "--output", str(out)]
    assert main(command) == 0
    (task,) = json.loads(out.read_text(encoding="utf-8"))
    assert task["data"]["body"] == TEXT and task["predictions"][0]["result"][0]["from_name"] == "ner"
    # A package that names them in kzner.json is read from there alone.
    settings = json.loads((old / "kzner.json").read_text())
    settings["labelstudio"] = {"control": "tags", "text_field": "article"}
    (old / "kzner.json").write_text(json.dumps(settings))
    (old / "config.yaml").write_text("- not a mapping\n")
    assert main(command) == 0
    (task,) = json.loads(out.read_text(encoding="utf-8"))
    assert task["data"]["article"] == TEXT and task["predictions"][0]["result"][0]["from_name"] == "tags"
    settings.pop("labelstudio")
    (old / "kzner.json").write_text(json.dumps(settings))
    assert main(command) == 2


def test_faster_precisions_keep_offsets_and_refuse_what_cannot_work(model_dir: Path) -> None:
    exact = [(e.start, e.end, e.label) for e in Tagger.load(model_dir, device="cpu")(TEXT)]
    for options in ({"precision": "bf16"}, {"quantize": True}):
        fast = Tagger.load(model_dir, device="cpu", **options)
        assert [(e.start, e.end, e.label) for e in fast(TEXT)] == exact, options
    assert Tagger.load(model_dir, device="cpu", quantize=True).version.endswith("-int8")
    with pytest.raises(KznerError, match="--precision=fp16 needs a CUDA device"):
        Tagger.load(model_dir, device="cpu", precision="fp16")
    with pytest.raises(KznerError, match="quantize is dynamic int8 on CPU from fp32"):
        Tagger.load(model_dir, device="cpu", precision="bf16", quantize=True)


def test_a_package_read_in_bf16_has_the_weights_transformers_gives(model_dir: Path) -> None:
    # kzner.package.load_model casts tensor by tensor instead of through
    # from_pretrained's mapped file: the same model must come out.
    from transformers import AutoModelForTokenClassification

    from kzner.package import load_model

    ours = load_model(model_dir, torch.bfloat16)
    theirs = AutoModelForTokenClassification.from_pretrained(model_dir, dtype=torch.bfloat16)
    assert type(ours) is type(theirs) and ours.config.to_dict() == theirs.config.to_dict()
    mine, reference = ours.state_dict(), theirs.state_dict()
    assert mine.keys() == reference.keys()
    assert all(torch.equal(mine[name], reference[name]) for name in mine)
    assert {p.dtype for p in ours.parameters()} == {torch.bfloat16} and not ours.training


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_on_cpu_is_bf16_only_where_the_cpu_has_it(monkeypatch, native: bool) -> None:
    from kzner import predict

    monkeypatch.setattr(predict, "cpu_has_bf16", lambda: native)
    expected = "bf16" if native else "fp32"
    assert predict.resolve_precision("auto", torch.device("cpu")) == expected
    assert predict.resolve_precision("fp32", torch.device("cpu")) == "fp32"


def test_context_option_reaches_the_tagger(model_dir: Path, tmp_path: Path, monkeypatch) -> None:
    seen = []
    load = Tagger.load.__func__

    def recording(cls, *args, **kwargs):
        tagger = load(cls, *args, **kwargs)
        seen.append(tagger.context)
        return tagger

    monkeypatch.setattr(Tagger, "load", classmethod(recording))
    text = write(tmp_path, "a.txt", "Арал қаласы. Шиелі ауданы.".encode())
    for context in ("paragraph", "sentence"):
        out = tmp_path / f"{context}.jsonl"
        assert (
            main(
                ["predict", "--model", str(model_dir), "--context", context, str(text), "--output", str(out)]
            )
            == 0
        )
    assert seen == ["paragraph", "sentence"]
    # This model tags each word alone, so packing changes nothing but the windows.
    assert (tmp_path / "paragraph.jsonl").read_text() == (tmp_path / "sentence.jsonl").read_text()


def test_a_sentence_in_capitals_is_read_in_title_case_and_cut_from_the_original(
    mixed_tagger_dir: Path,
) -> None:
    tagger = Tagger.load(mixed_tagger_dir, device="cpu")
    shouted, titled = "ҚЫЗЫЛОРДА ОБЛЫСЫНДА ЖАҢА МЕКТЕП АШЫЛДЫ", "Қызылорда Облысында Жаңа Мектеп Ашылды"
    lowered = "қызылорда облысында жаңа мектеп ашылды"
    probs = [tagger.word_probabilities([t.split()])[0] for t in (shouted, titled, lowered)]
    # The seeded model reads case (else the equality below would prove nothing) ...
    assert not torch.allclose(torch.from_numpy(probs[1]), torch.from_numpy(probs[2]))
    # ... and what it reads for the capitals is the title case.
    assert torch.equal(torch.from_numpy(probs[0]), torch.from_numpy(probs[1]))
    entities = tagger(f"{shouted}\nҚызылорда облысында мектеп ашылды.")
    assert entities and all(e.text == shouted[e.start : e.end] for e in entities if e.start < len(shouted))
    assert any(e.start < len(shouted) for e in entities)


def test_invisible_characters_from_web_pages_change_no_entity(mixed_tagger_dir: Path) -> None:
    tagger = Tagger.load(mixed_tagger_dir, device="cpu")
    clean = "Қызылорда облысының әкімдігі «Жайлы мектеп» жобасына 5 млрд теңге бөлді."
    # A byte-order mark, a soft hyphen inside a word, a zero-width space after
    # a space, bidirectional marks around a name.
    marks = {0: "\ufeff", 5: "\u00ad", 20: "\u200b", 29: "\u202a", 43: "\u202c"}
    dirty, at = "", []
    for i, c in enumerate(clean):
        dirty += marks.get(i, "")
        at.append(len(dirty))
        dirty += c
    assert dirty.startswith("\ufeffҚызыл\u00adорда облысының \u200bәкімдігі \u202a«Жайлы мектеп»\u202c")
    # The seeded model reads a word cut in two otherwise than whole, so the
    # equality below is not a constant output.
    cut, whole = (tagger.word_probabilities([words])[0][0] for words in (["Қызыл", "орда"], ["Қызылорда"]))
    assert not torch.allclose(torch.from_numpy(cut), torch.from_numpy(whole))
    expected = tagger(clean)
    assert expected
    assert [(at[e.start], at[e.end - 1] + 1, e.label, e.score) for e in expected] == [
        (e.start, e.end, e.label, e.score) for e in tagger(dirty)
    ]


def test_kazakh_letters_typed_as_latin_look_alikes_change_no_entity(mixed_tagger_dir: Path) -> None:
    tagger = Tagger.load(mixed_tagger_dir, device="cpu")
    cyrillic = "Қызылорда облысының білім басқармасы «Жайлы мектеп» жобасына 5 млрд теңге бөлді."
    typed = cyrillic.replace("і", "i").replace("о", "o", 1)  # Latin i, one Latin o
    assert typed != cyrillic and len(typed) == len(cyrillic)
    # Read as typed, the words would be other pieces, so equal outputs are not a constant.
    assert tagger.tokenizer("білім")["input_ids"] != tagger.tokenizer("бiлiм")["input_ids"]
    expected = [(e.start, e.end, e.label, e.score) for e in tagger(cyrillic)]
    assert expected
    assert [(e.start, e.end, e.label, e.score) for e in tagger(typed)] == expected
    assert all(typed[e.start : e.end] == e.text for e in tagger(typed))
