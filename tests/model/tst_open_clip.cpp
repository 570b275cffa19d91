// open_clip models against the tensors open_clip 2.32 itself computed
// (../shared/fixtures/open_clip_vit*, README "Wave 2"): the image tower as a HookedViT, the
// CLIP tokenizer, the causal text tower, logits; then the same through `prisma run` and
// `prisma tokenize`, and the files that must be refused.

#include "CliProcess.h"
#include "ExpectError.h"
#include "TestUtil.h"
#include "Tolerances.h"

#include "model/Error.h"
#include "model/clip/ClipModel.h"
#include "model/clip/ClipTokenizer.h"
#include "model/clip/TextClean.h"
#include "model/clip/ZeroShot.h"
#include "model/io/ModelLoader.h"
#include "model/io/SafeTensors.h"
#include "model/vit/HookNames.h"

#include <nlohmann/json.hpp>
#include <zlib.h>

#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>

using namespace prisma;
using prisma::test::expectError;
using prisma::test::fixture;
using prisma::test::writeText;
using prisma::test::kGoldenTolerance;
using prisma::test::relL2;
namespace fs = std::filesystem;

namespace {

constexpr double kLogitTolerance = prisma::test::kLogitsPerImageTolerance;
constexpr int kImageLayers = 3;
constexpr int kTextLayers = 2;
constexpr int kFixtureHeads = 4;
const std::vector<std::string> kPrompts = {"a photo of a cat", "a diagram", "A Photo of TWO dogs!", "émigré café"};
const std::string kLongPrompt =
    "a very long caption about a small cat that sits on a red mat next to a big dog in the sun";

std::string ref(const std::string& folder) { return fixture(folder + "/reference.safetensors"); }

void writeGzip(const std::string& path, const std::string& text) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
  gzclose(f);
}

std::string readGzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  std::string out;
  char buf[1 << 16];
  for (int n; (n = gzread(f, buf, sizeof(buf))) > 0;) out.append(buf, static_cast<size_t>(n));
  gzclose(f);
  return out;
}

}  // namespace

class TestOpenClip : public QObject {
  Q_OBJECT

private:
  QTemporaryDir tmp_;
  std::string path(const std::string& name) const { return tmp_.filePath(QString::fromStdString(name)).toStdString(); }

  // Every image-tower tensor of the reference, through the library.
  void checkImageTower(io::LoadedModel& m, const std::string& folder) {
    io::SafeTensorsFile r(ref(folder));
    torch::NoGradGuard no_grad;
    auto run = m.model->run_with_cache(r.float_tensor("pixel_values"));
    const auto& cache = run.cache;
    QVERIFY(relL2(cache["hook_ln_pre"], r.float_tensor("visual.ln_pre")) < kGoldenTolerance);
    for (int l = 0; l < kImageLayers; ++l) {
      const std::string s = std::to_string(l);
      const double block = relL2(cache[hookName(l, "hook_resid_post")], r.float_tensor("visual.resblocks." + s));
      const double attn = relL2(cache[hookName(l, "attn.hook_pattern")], r.float_tensor("visual.attentions." + s));
      QVERIFY2(block < kGoldenTolerance, qPrintable(QString("block %1: %2").arg(l).arg(block)));
      QVERIFY2(attn < kGoldenTolerance, qPrintable(QString("attention %1: %2").arg(l).arg(attn)));
    }
    QVERIFY(relL2(cache["hook_ln_final"], r.float_tensor("visual.ln_post")) < kGoldenTolerance);
    const double features = relL2(run.output, r.float_tensor("image_features"));
    QVERIFY2(features < kGoldenTolerance, qPrintable(QString::number(features)));
  }

private slots:
  void initTestCase() { QVERIFY(tmp_.isValid()); }

  void imageTower_data() {
    QTest::addColumn<QString>("model");   // path under the fixtures
    QTest::addColumn<QString>("folder");  // its reference
    QTest::addColumn<QString>("activation");
    QTest::newRow("hub folder") << "open_clip_vit" << "open_clip_vit" << "gelu";
    QTest::newRow("pytorch .bin") << "open_clip_vit/open_clip_pytorch_model.bin" << "open_clip_vit" << "gelu";
    QTest::newRow("quick_gelu") << "open_clip_vit_quickgelu" << "open_clip_vit_quickgelu" << "quick_gelu";
  }
  void imageTower() {
    QFETCH(QString, model);
    QFETCH(QString, folder);
    QFETCH(QString, activation);
    io::LoadedModel m = io::loadModel(fixture(model.toStdString()));
    QCOMPARE(QString::fromStdString(m.format), QStringLiteral("open_clip"));
    QCOMPARE(QString::fromStdString(toString(m.model->cfg().activation)), activation);
    QVERIFY(m.preprocess.interpolation == datasets::Interpolation::Bicubic);
    QCOMPARE(m.preprocess.mean.at(0), 0.48145466f);
    checkImageTower(m, folder.toStdString());
  }

  // A bare state dict: sizes inferred as OpenAI's build_model does (QuickGELU), heads given.
  void bareStateDictInferred() {
    const std::string file = path("bare/weights.safetensors");
    fs::create_directories(path("bare"));
    fs::copy_file(fixture("open_clip_vit_quickgelu/open_clip_model.safetensors"), file, fs::copy_options::overwrite_existing);
    io::LoadOptions options;
    options.n_heads = kFixtureHeads;
    io::LoadedModel m = io::loadModel(file, options);
    QVERIFY(m.model->cfg().activation == Activation::QuickGelu);
    QCOMPARE(m.model->cfg().n_heads, kFixtureHeads);
    checkImageTower(m, "open_clip_vit_quickgelu");
  }

  // A bare state dict beside open_clip's own model_configs/*.json form (no "model_cfg" wrapper).
  void bareStateDictWithModelConfig() {
    const std::string dir = path("with_cfg");
    fs::create_directories(dir);
    fs::copy_file(fixture("open_clip_vit/open_clip_model.safetensors"), dir + "/ViT-tiny.safetensors",
                  fs::copy_options::overwrite_existing);
    nlohmann::json full = nlohmann::json::parse(std::ifstream(fixture("open_clip_vit/open_clip_config.json")));
    writeText(dir + "/open_clip_config.json", full.at("model_cfg").dump());
    io::LoadedModel m = io::loadModel(dir + "/ViT-tiny.safetensors");
    checkImageTower(m, "open_clip_vit");
  }

  void tokenizer() {
    io::SafeTensorsFile r(ref("open_clip_vit"));
    const clip::ClipTokenizer tok = clip::ClipTokenizer::bundled();
    QCOMPARE(tok.vocab_size(), int64_t(49408));
    QCOMPARE(tok.start_id(), int64_t(49406));
    QCOMPARE(tok.end_id(), int64_t(49407));
    const torch::Tensor ids = tok.tokenize(kPrompts, 16);
    QVERIFY(torch::equal(ids, r.tensor("text_tokens")));
    const torch::Tensor long_ids = tok.tokenize({kLongPrompt}, 16);
    QVERIFY(torch::equal(long_ids, r.tensor("text_tokens_long")));
    QCOMPARE(long_ids[0][15].item<int64_t>(), tok.end_id());
  }

  // Known facts of open_clip's SimpleTokenizer clean-up (ftfy, html, whitespace, case).
  void cleanText_data() {
    QTest::addColumn<QString>("input");
    QTest::addColumn<QString>("cleaned");
    QTest::newRow("case and spaces") << "  A  Photo\tof\nTWO " << "a photo of two";
    QTest::newRow("html twice") << "fish &amp;amp; chips" << "fish & chips";
    QTest::newRow("numeric reference") << "caf&#233;" << "café";
    QTest::newRow("curly quotes") << QString::fromUtf8("\u2018it\u2019s\u2019 \u201cok\u201d") << "'it's' \"ok\"";
    QTest::newRow("ligature") << QString::fromUtf8("\uFB01sh") << "fish";
    QTest::newRow("full width") << QString::fromUtf8("\uFF21\uFF22\uFF23") << "abc";
    QTest::newRow("NFC") << QString::fromUtf8("e\u0301migre\u0301") << QString::fromUtf8("\u00E9migr\u00E9");
  }
  void cleanText() {
    QFETCH(QString, input);
    QFETCH(QString, cleaned);
    QCOMPARE(QString::fromStdString(clip::cleanText(input.toStdString())), cleaned);
  }

  void splitPieces() {
    const auto pieces = clip::splitPieces("it's 42 dogs!! <end_of_text>x");
    const std::vector<std::string> expected = {"it", "'s", "4", "2", "dogs", "!!", "<end_of_text>", "x"};
    QCOMPARE(pieces, expected);
  }

  void textTowerAndLogits_data() {
    QTest::addColumn<QString>("folder");
    QTest::newRow("gelu") << "open_clip_vit";
    QTest::newRow("quick_gelu") << "open_clip_vit_quickgelu";
  }
  void textTowerAndLogits() {
    QFETCH(QString, folder);
    const std::string f = folder.toStdString();
    io::SafeTensorsFile r(ref(f));
    clip::ClipModel m = clip::loadClip(fixture(f));
    QVERIFY(clip::hasTextTower(fixture(f)));
    torch::NoGradGuard no_grad;
    const torch::Tensor tokens = m.tokenize(kPrompts);
    QVERIFY(torch::equal(tokens, r.tensor("text_tokens")));
    auto run = m.text->run_with_cache(tokens);
    for (int l = 0; l < kTextLayers; ++l) {
      const std::string s = std::to_string(l);
      QVERIFY(relL2(run.cache[hookName(l, "hook_resid_post")], r.float_tensor("text.resblocks." + s)) < kGoldenTolerance);
      QVERIFY(relL2(run.cache[hookName(l, "attn.hook_pattern")], r.float_tensor("text.attentions." + s)) < kGoldenTolerance);
    }
    QVERIFY(relL2(run.cache["hook_ln_final"], r.float_tensor("text.ln_final")) < kGoldenTolerance);
    const double text = relL2(run.output, r.float_tensor("text_features"));
    QVERIFY2(text < kGoldenTolerance, qPrintable(QString::number(text)));
    QCOMPARE(m.logit_scale.item<float>(), r.float_tensor("logit_scale").item<float>());

    const torch::Tensor image = m.encodeImage(r.float_tensor("pixel_values"));
    const torch::Tensor logits = clip::clipLogits(image, run.output, m.logit_scale);
    const double err = relL2(logits, r.float_tensor("logits_per_image"));
    QVERIFY2(err < kLogitTolerance, qPrintable(QString::number(err)));
    QVERIFY(relL2(logits.t(), r.float_tensor("logits_per_text")) < kLogitTolerance);
  }

  // --- zero-shot heads ---------------------------------------------------------------

  // The reference's four prompts as "classes" with the template "{}": CLIP's own logits.
  void zeroShotHead() {
    io::SafeTensorsFile r(ref("open_clip_vit"));
    clip::ClipModel m = clip::loadClip(fixture("open_clip_vit"));
    const torch::Tensor pixels = r.float_tensor("pixel_values");
    const torch::Tensor features = m.encodeImage(pixels);
    clip::ZeroShotCache cache;
    const auto head = cache.get(m, kPrompts, "{}");
    QCOMPARE(head->prompts, kPrompts);
    QVERIFY(cache.get(m, kPrompts, "{}") == head);  // computed once
    QCOMPARE(cache.size(), size_t(1));
    QVERIFY(cache.get(m, kPrompts, "a photo of a {}.") != head);
    QCOMPARE(cache.size(), size_t(2));

    const double exact = relL2(clip::zeroShotLogits(m, *head, pixels), r.float_tensor("logits_per_image"));
    QVERIFY2(exact < kLogitTolerance, qPrintable(QString::number(exact)));
    clip::installZeroShotHead(m, *head);
    QCOMPARE(m.image.model->cfg().class_names, kPrompts);
    torch::NoGradGuard no_grad;
    // The installed linear head: CLIP's logits times the image embedding's norm.
    const torch::Tensor linear = m.image.model->forward(pixels);
    const torch::Tensor expected = r.float_tensor("logits_per_image") * features.norm(2, -1, true);
    QVERIFY(relL2(linear, expected) < kLogitTolerance);
    // The image embedding survives the head's replacement.
    QVERIFY(relL2(m.encodeImage(pixels), r.float_tensor("image_features")) < kGoldenTolerance);
  }

  void classFiles() {
    QCOMPARE(clip::promptFor("a photo of a {}.", "cat"), std::string("a photo of a cat."));
    const auto imagenet = clip::imageNetPromptClasses();
    QCOMPARE(imagenet.size(), size_t(1000));
    QCOMPARE(imagenet.front(), std::string("tench"));
    writeText(path("classes.txt"), "# pets\r\ncat\r\n\n  dog  \nbig red car\n");
    QCOMPARE(clip::readClassFile(path("classes.txt")), (std::vector<std::string>{"cat", "dog", "big red car"}));
    writeText(path("empty.txt"), "# nothing\n\n");
    expectError([&] { clip::readClassFile(path("empty.txt")); }, "empty.txt", "no class names");
    writeText(path("nul.txt"), std::string("cat\ndo\0g\n", 9));
    expectError([&] { clip::readClassFile(path("nul.txt")); }, "nul.txt", "line 2");
    expectError([&] { clip::readClassFile(path("absent.txt")); }, "absent.txt", "cannot open");
  }

  // --- hostile inputs --------------------------------------------------------------

  void unknownVisionTower() {
    const std::string dir = path("timm_tower");
    fs::create_directories(dir);
    nlohmann::json cfg = nlohmann::json::parse(std::ifstream(fixture("open_clip_vit/open_clip_config.json")));
    cfg["model_cfg"]["vision_cfg"]["timm_model_name"] = "vit_base_patch16_224";
    writeText(dir + "/open_clip_config.json", cfg.dump());
    fs::create_symlink(fixture("open_clip_vit/open_clip_model.safetensors"), dir + "/open_clip_model.safetensors");
    expectError([&] { io::loadModel(dir); }, "open_clip_config.json", "model_cfg.vision_cfg.timm_model_name");
  }

  void unknownTextTower() {
    const std::string dir = path("hf_text");
    fs::create_directories(dir);
    nlohmann::json cfg = nlohmann::json::parse(std::ifstream(fixture("open_clip_vit/open_clip_config.json")));
    cfg["model_cfg"]["text_cfg"]["hf_model_name"] = "roberta-base";
    writeText(dir + "/open_clip_config.json", cfg.dump());
    fs::create_symlink(fixture("open_clip_vit/open_clip_model.safetensors"), dir + "/open_clip_model.safetensors");
    io::loadModel(dir);  // the image tower alone still loads
    expectError([&] { clip::loadClip(dir); }, "open_clip_config.json", "model_cfg.text_cfg.hf_model_name");
  }

  // Towers and tokenizers this loader does not run, each named by its config field: the
  // image tower's through io::loadModel, the text tower's through clip::loadClip.
  void unknownTowers_data() {
    QTest::addColumn<QString>("pointer");  // JSON pointer into open_clip_config.json
    QTest::addColumn<QString>("value");    // JSON; "null" removes the key
    QTest::addColumn<bool>("text");        // refused by the text tower only
    QTest::addColumn<QString>("field");
    QTest::newRow("ResNet image tower") << "/model_cfg/vision_cfg/layers" << "[3, 4, 6, 3]" << false
                                       << "model_cfg.vision_cfg.layers";
    QTest::newRow("attentional pooling") << "/model_cfg/vision_cfg/attentional_pool" << "true" << false
                                         << "model_cfg.vision_cfg.attentional_pool";
    QTest::newRow("average pooling") << "/model_cfg/vision_cfg/pool_type" << "\"avg\"" << false
                                     << "model_cfg.vision_cfg.pool_type";
    QTest::newRow("custom blocks") << "/model_cfg/vision_cfg/block_type" << "\"custom\"" << false
                                   << "model_cfg.vision_cfg.block_type";
    QTest::newRow("no vision tower") << "/model_cfg/vision_cfg" << "null" << false << "model_cfg.vision_cfg";
    QTest::newRow("another text architecture") << "/model_cfg/text_cfg/text_arch" << "\"mamba\"" << true
                                               << "model_cfg.text_cfg.text_arch";
    QTest::newRow("SentencePiece tokenizer") << "/model_cfg/text_cfg/tokenizer_type" << "\"sentencepiece\"" << true
                                             << "model_cfg.text_cfg.tokenizer_type";
    QTest::newRow("Hugging Face tokenizer") << "/model_cfg/text_cfg/hf_tokenizer_name" << "\"google/siglip\"" << true
                                            << "model_cfg.text_cfg.hf_tokenizer_name";
    QTest::newRow("mean-pooled text") << "/model_cfg/text_cfg/pool_type" << "\"mean\"" << true
                                      << "model_cfg.text_cfg.pool_type";
    QTest::newRow("no text tower") << "/model_cfg/text_cfg" << "null" << true << "model_cfg.text_cfg";
  }
  void unknownTowers() {
    QFETCH(QString, pointer);
    QFETCH(QString, value);
    QFETCH(bool, text);
    QFETCH(QString, field);
    const std::string dir = path("tower" + QString(pointer).replace('/', '_').toStdString());
    fs::create_directories(dir);
    nlohmann::json cfg = nlohmann::json::parse(std::ifstream(fixture("open_clip_vit/open_clip_config.json")));
    const nlohmann::json::json_pointer at(pointer.toStdString());
    if (value == "null") cfg[at.parent_pointer()].erase(at.back());
    else cfg[at] = nlohmann::json::parse(value.toStdString());
    writeText(dir + "/open_clip_config.json", cfg.dump());
    fs::create_symlink(fixture("open_clip_vit/open_clip_model.safetensors"), dir + "/open_clip_model.safetensors");
    if (text) {
      io::loadModel(dir);  // the image tower alone still loads
      expectError([&] { clip::loadClip(dir); }, "open_clip_config.json", field.toStdString());
    } else {
      expectError([&] { io::loadModel(dir); }, "open_clip_config.json", field.toStdString());
    }
  }

  // A model folder's own vocabulary is the one read: its broken line is named.
  void brokenVocabularyInAModelFolder() {
    const std::string dir = path("broken_vocab_model");
    fs::create_directories(dir);
    for (const char* f : {"open_clip_config.json", "open_clip_model.safetensors"})
      fs::create_symlink(fixture(std::string("open_clip_vit/") + f), dir + "/" + f);
    std::string text = readGzip(fixture("open_clip_vit/bpe_simple_vocab_16e6.txt.gz"));
    const size_t line5 = [&] {
      size_t pos = 0;
      for (int i = 0; i < 4; ++i) pos = text.find('\n', pos) + 1;
      return pos;
    }();
    text.insert(line5, "x\n");  // a merge of one symbol
    writeGzip(dir + "/bpe_simple_vocab_16e6.txt.gz", text);
    expectError([&] { clip::loadClip(dir); }, "bpe_simple_vocab_16e6.txt.gz", "line 5");
    const auto result = test::runPrisma({"run", QString::fromStdString(dir), "--input",
                                         QString::fromStdString(ref("open_clip_vit") + ":pixel_values"), "--out",
                                         QString::fromStdString(path("never.safetensors")), "--text", "a cat"},
                                        {120'000, true});
    QCOMPARE(result.code, 1);
    QVERIFY2(result.err.contains("bpe_simple_vocab_16e6.txt.gz") && result.err.contains("line 5"),
             qPrintable(result.err));
  }

  void wrongShapes() {
    const std::string dir = path("wrong_width");
    fs::create_directories(dir);
    nlohmann::json cfg = nlohmann::json::parse(std::ifstream(fixture("open_clip_vit/open_clip_config.json")));
    cfg["model_cfg"]["vision_cfg"]["width"] = 128;
    cfg["model_cfg"]["vision_cfg"]["head_width"] = 32;
    writeText(dir + "/open_clip_config.json", cfg.dump());
    fs::create_symlink(fixture("open_clip_vit/open_clip_model.safetensors"), dir + "/open_clip_model.safetensors");
    expectError([&] { io::loadModel(dir); }, "open_clip_model.safetensors", "visual.conv1.weight");
    cfg["model_cfg"]["vision_cfg"]["width"] = 64;
    cfg["model_cfg"]["vision_cfg"]["head_width"] = 48;
    writeText(dir + "/open_clip_config.json", cfg.dump());
    expectError([&] { io::loadModel(dir); }, "open_clip_config.json", "model_cfg.vision_cfg.head_width");
  }

  void truncatedWeights() {
    const std::string dir = path("truncated");
    fs::create_directories(dir);
    fs::copy_file(fixture("open_clip_vit/open_clip_config.json"), dir + "/open_clip_config.json",
                  fs::copy_options::overwrite_existing);
    std::ifstream in(fixture("open_clip_vit/open_clip_model.safetensors"), std::ios::binary);
    std::string bytes(std::istreambuf_iterator<char>(in), {});
    writeText(dir + "/open_clip_model.safetensors", bytes.substr(0, bytes.size() / 2));
    expectError([&] { io::loadModel(dir); }, "open_clip_model.safetensors", "");
  }

  void brokenVocabulary_data() {
    QTest::addColumn<int>("keep_lines");  // merges kept after the header (-1: all)
    QTest::addColumn<QString>("break_line");  // replaces line 10 when not empty
    QTest::addColumn<QString>("needle");
    QTest::newRow("truncated") << 1000 << "" << "line 1002";
    QTest::newRow("one symbol") << -1 << "abc" << "line 10";
    QTest::newRow("three symbols") << -1 << "a b c" << "line 10";
    QTest::newRow("two spaces") << -1 << "a  b" << "line 10";
    QTest::newRow("repeated merge") << -1 << "i n" << "repeats";
  }
  void brokenVocabulary() {
    QFETCH(int, keep_lines);
    QFETCH(QString, break_line);
    QFETCH(QString, needle);
    const std::string text = readGzip(fixture("open_clip_vit/bpe_simple_vocab_16e6.txt.gz"));
    std::vector<std::string> lines;
    for (size_t pos = 0; pos < text.size();) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      lines.push_back(text.substr(pos, end - pos));
      pos = end + 1;
    }
    if (keep_lines >= 0) lines.resize(static_cast<size_t>(keep_lines) + 1);
    if (!break_line.isEmpty()) lines[9] = break_line.toStdString();
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    const std::string file = path("broken_" + std::to_string(keep_lines) + "_" + break_line.toStdString() + ".txt.gz");
    writeGzip(file, out);
    expectError([&] { clip::ClipTokenizer::fromFile(file); }, file, needle.toStdString());
    writeText(path("not_gzip.txt.gz"), "plain text, not gzip\n");
    expectError([&] { clip::ClipTokenizer::fromFile(path("not_gzip.txt.gz")); }, "not_gzip.txt.gz", "line");
  }

  // --- the CLI ---------------------------------------------------------------------

  void cliRunWritesEmbeddingsAndLogits() {
    const std::string out = path("run.safetensors");
    const auto result = test::runPrisma({"run", QString::fromStdString(fixture("open_clip_vit")), "--input",
                                         QString::fromStdString(ref("open_clip_vit") + ":pixel_values"), "--out",
                                         QString::fromStdString(out), "--text", "a photo of a cat", "--text",
                                         "a diagram", "--text", "A Photo of TWO dogs!", "--text",
                                         QString::fromUtf8("émigré café")},
                                        {120'000, true});
    QVERIFY2(result.code == 0, qPrintable(result.err));
    io::SafeTensorsFile got(out), r(ref("open_clip_vit"));
    QVERIFY(relL2(got.float_tensor("image_embeds"), r.float_tensor("image_features")) < kGoldenTolerance);
    QVERIFY(relL2(got.float_tensor("text_embeds"), r.float_tensor("text_features")) < kGoldenTolerance);
    QVERIFY(relL2(got.float_tensor("logits_per_image"), r.float_tensor("logits_per_image")) < kLogitTolerance);
    QVERIFY(torch::equal(got.tensor("text_tokens"), r.tensor("text_tokens")));
    QVERIFY(relL2(got.float_tensor(hookName(2, "hook_resid_post")), r.float_tensor("visual.resblocks.2")) < kGoldenTolerance);
  }

  void cliZeroShot() {
    writeText(path("prompts.txt"), "a photo of a cat\na diagram\nA Photo of TWO dogs!\n\u00e9migr\u00e9 caf\u00e9\n");
    const std::string out = path("zero_shot.safetensors");
    const auto result = test::runPrisma({"run", QString::fromStdString(fixture("open_clip_vit")), "--input",
                                         QString::fromStdString(ref("open_clip_vit") + ":pixel_values"), "--out",
                                         QString::fromStdString(out), "--classes",
                                         QString::fromStdString(path("prompts.txt")), "--template", "{}"},
                                        {120'000, true});
    QVERIFY2(result.code == 0, qPrintable(result.err));
    io::SafeTensorsFile got(out), r(ref("open_clip_vit"));
    QVERIFY(relL2(got.float_tensor("logits"), r.float_tensor("logits_per_image")) < kLogitTolerance);
    QCOMPARE(got.float_tensor("output").sizes().vec(), (std::vector<int64_t>{2, 4}));
    QVERIFY(relL2(got.float_tensor("image_embeds"), r.float_tensor("image_features")) < kGoldenTolerance);
    // ImageNet-1k's default prompts.
    const auto imagenet = test::runPrisma({"run", QString::fromStdString(fixture("open_clip_vit")), "--input",
                                           QString::fromStdString(ref("open_clip_vit") + ":pixel_values"), "--out",
                                           QString::fromStdString(out), "--classes", "imagenet", "--names", "^$"},
                                          {120'000, true});
    QVERIFY2(imagenet.code == 0, qPrintable(imagenet.err));
    QCOMPARE(io::SafeTensorsFile(out).float_tensor("logits").sizes().vec(), (std::vector<int64_t>{2, 1000}));
  }

  void cliInfo() {
    const auto result = test::runPrisma({"info", QString::fromStdString(fixture("open_clip_vit"))}, {120'000, true});
    QVERIFY2(result.code == 0, qPrintable(result.err));
    QVERIFY(result.out.contains(QStringLiteral("Family:    open_clip")));
    QVERIFY(result.out.contains(QStringLiteral("Towers:    image + text (CLIP)")));
    QVERIFY(result.out.contains(QStringLiteral("Zero-shot: none installed")));
    QVERIFY(result.out.contains(QStringLiteral("Output:    a feature vector")));
    QVERIFY(result.out.contains(QStringLiteral("Registers: 0")));
    QVERIFY(result.out.contains(QStringLiteral("Pooling:   cls")));
    QVERIFY(result.out.contains(QStringLiteral("Interpolation: none")));
    writeText(path("info_classes.txt"), "cat\ndog\nrocket\n");
    const auto head = test::runPrisma({"info", QString::fromStdString(fixture("open_clip_vit")), "--classes",
                                       QString::fromStdString(path("info_classes.txt")), "--template", "{}"},
                                      {120'000, true});
    QVERIFY2(head.code == 0, qPrintable(head.err));
    QVERIFY2(head.out.contains(QStringLiteral("Zero-shot: 3 classes, template '{}'")), qPrintable(head.out));
    QVERIFY(head.out.contains(QStringLiteral("Output:    3 class logits")));
    const auto dino = test::runPrisma({"info", QString::fromStdString(fixture("dinov2_hub"))}, {120'000, true});
    QVERIFY2(dino.code == 0, qPrintable(dino.err));
    QVERIFY(dino.out.contains(QStringLiteral("Registers: 4")));
    QVERIFY(dino.out.contains(QStringLiteral("Zero-shot: none (no text tower)")));
    QVERIFY(dino.out.contains(QStringLiteral("Output:    a feature vector")));
  }

  void cliTokenize() {
    const auto result = test::runPrisma({"tokenize", "a photo of a cat", "--context", "16"}, {120'000, true});
    QVERIFY2(result.code == 0, qPrintable(result.err));
    QCOMPARE(result.out.trimmed(), QStringLiteral("49406 320 1125 539 320 2368 49407 0 0 0 0 0 0 0 0 0"));
  }
};

QTEST_GUILESS_MAIN(TestOpenClip)
#include "tst_open_clip.moc"
