// Model files that must be refused, by the library: hostile pickles (forbidden globals,
// forged opcodes, tensors outside their storage), files that are not torch archives,
// pickled state dicts as Hugging Face writes them, and configs with nonsense or sizes
// past the memory budget -- every error names the file and the field.

#include "Tolerances.h"
#include "ExpectError.h"
#include "LoaderFixture.h"
#include "TestUtil.h"
#include "TorchSaveWriter.h"

#include "datasets/ImageIO.h"
#include "datasets/Preprocess.h"
#include "model/Error.h"
#include "model/clip/ClipModel.h"
#include "model/io/ImageNetClasses.h"
#include "model/io/ModelExport.h"
#include "model/io/ModelLoader.h"
#include "model/io/RestrictedUnpickler.h"
#include "model/io/SafeTensors.h"
#include "model/io/TorchArchive.h"
#include "model/sae/SaeFiles.h"

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <sys/resource.h>

using namespace prisma;
using prisma::test::expectError;
using prisma::test::fixture;
using prisma::test::readText;
using prisma::test::writeText;
using prisma::test::relL2;
namespace fs = std::filesystem;

using prisma::test::kGoldenTolerance;

class TestHostileModelFiles : public prisma::test::LoaderFixture {
  Q_OBJECT

private slots:
  void initTestCase() { QVERIFY(tmp_.isValid()); }

  // ---- hostile pickles ------------------------------------------------------------------
  void hostilePickles_data() {
    QTest::addColumn<QByteArray>("pickle");
    QTest::addColumn<QString>("needle");
    using test::PickleBytes;
    auto row = [](const char* name, const std::string& p, const char* needle) {
      QTest::newRow(name) << QByteArray(p.data(), int(p.size())) << QString(needle);
    };
    row("os.system", PickleBytes().global("os", "system").str("echo owned").op('\x85').op('R').done(), "os.system");
    row("builtins.eval via STACK_GLOBAL",
        PickleBytes().str("builtins").str("eval").op('\x93').str("1").op('\x85').op('R').done(), "builtins.eval");
    row("old _rebuild_tensor", PickleBytes().global("torch._utils", "_rebuild_tensor").done(), "torch._utils._rebuild_tensor");
    row("object construction (NEWOBJ)", PickleBytes().op('}').op(')').op('\x81').done(), "NEWOBJ of a dict, not an allow-listed data class");
    row("truncated string", PickleBytes().raw("X\xff\xff\xff\x7f" "abc").done(), "truncated");
    row("stack underflow", PickleBytes().op('R').done(), "stack underflow");
    row("memo never stored", PickleBytes().raw("h\x05").done(), "never stored");
    row("list inside itself", PickleBytes().op(']').raw(std::string("q\x00h\x00", 4)).op('a').done(), "contains itself");
    std::string deep = "";
    for (int i = 0; i < 100; ++i) deep += ']';
    for (int i = 0; i < 99; ++i) deep += 'a';
    row("nesting 100 deep", PickleBytes().raw(deep).done(), "nested deeper");
    row("calling a storage class", PickleBytes().global("torch", "FloatStorage").op(')').op('R').done(), "cannot be called");
    row("no STOP", std::string("\x80\x02N", 3), "truncated");
  }

  void hostilePickles() {
    QFETCH(QByteArray, pickle);
    QFETCH(QString, needle);
    const std::string file = path("hostile.bin");
    test::writeArchive(file, pickle.toStdString());
    expectError([&] { io::TorchArchive archive(file); }, file, needle.toStdString());
  }

  // Well-formed pickles whose tensors lie about their storages.
  void tensorsOutsideTheirStorage_data() {
    QTest::addColumn<QByteArray>("pickle");
    QTest::addColumn<int>("storageBytes");
    QTest::addColumn<QString>("needle");
    using test::PickleBytes;
    auto sd = [](PickleBytes& p) -> PickleBytes& { return p.op('}').mark().str("w"); };
    auto row = [](const char* name, PickleBytes p, int bytes, const char* needle) {
      const std::string s = p.op('u').done();
      QTest::newRow(name) << QByteArray(s.data(), int(s.size())) << bytes << QString(needle);
    };
    { PickleBytes p; sd(p).tensor("0", 4, {2, 3}, {3, 1}); row("view past the storage", p, 16, "reaches element 5"); }
    { PickleBytes p; sd(p).tensor("0", 4, {4}, {1}, 2); row("offset past the storage", p, 16, "reaches element 5"); }
    { PickleBytes p; sd(p).tensor("0", 100, {4}, {1}); row("storage longer than its record", p, 16, "holds 16 bytes"); }
    { PickleBytes p; sd(p).tensor("0", 1 << 30, {4}, {1}); row("storage larger than the file", p, 16, "run past the end"); }
    { PickleBytes p; sd(p).tensor("0", 4, {-1}, {1}); row("negative size", p, 16, "negative"); }
    { PickleBytes p; sd(p).tensor("9", 4, {4}, {1}); row("missing storage record", p, 16, "missing storage record"); }
    { PickleBytes p; sd(p).integer(7); row("a number among the tensors", p, 16, "is a int, not a tensor"); }
  }

  void tensorsOutsideTheirStorage() {
    QFETCH(QByteArray, pickle);
    QFETCH(int, storageBytes);
    QFETCH(QString, needle);
    const std::string file = path("lying.bin");
    test::writeArchive(file, pickle.toStdString(), {{"0", std::string(static_cast<size_t>(storageBytes), '\0')}});
    expectError(
        [&] {
          io::TorchArchive archive(file);
          archive.tensors(archive.root());
        },
        file, needle.toStdString());
  }

  void notATorchArchive_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("needle");
    QTest::newRow("legacy torch.save") << QByteArray("\x80\x02\x8a\x0a", 4) << "before PyTorch 1.6";
    QTest::newRow("text") << QByteArray("hello") << "not a PyTorch archive";
    QTest::newRow("broken zip") << QByteArray("PK\x03\x04garbage", 11) << "not a readable PyTorch archive";
  }
  void notATorchArchive() {
    QFETCH(QByteArray, bytes);
    QFETCH(QString, needle);
    const std::string file = path("not-torch.pth");
    writeText(file, bytes.toStdString());
    expectError([&] { io::TorchArchive archive(file); }, file, needle.toStdString());
  }

  // A .bin written like Hugging Face's (OrderedDict + _metadata) loads; one with a key
  // missing or one too many is refused naming the key.
  void binStateDicts() {
    io::SafeTensorsFile st(fixture("timm_vit/model.safetensors"));
    prisma::StateDict sd;
    for (const auto& n : st.names()) sd[n] = st.float_tensor(n);
    const std::string config = readText(fixture("timm_vit/config.json"));
    auto folder = [&](const char* name, const prisma::StateDict& tensors) {
      const fs::path dir = path(name);
      fs::create_directories(dir);
      test::writeStateDict((dir / "pytorch_model.bin").string(), tensors);
      writeText((dir / "config.json").string(), config);
      return dir;
    };
    io::LoadedModel ok = io::loadModel(folder("bin-ok", sd).string());
    io::SafeTensorsFile ref(fixture("timm_vit/reference.safetensors"));
    torch::NoGradGuard no_grad;
    QVERIFY(relL2(ok.model->forward(ref.float_tensor("pixel_values")), ref.float_tensor("logits")) <= kGoldenTolerance);

    auto missing = sd;
    missing.erase("blocks.1.mlp.fc2.bias");
    expectError([&] { io::loadModel(folder("bin-missing", missing).string()); }, "pytorch_model.bin",
                "'blocks.1.mlp.fc2.bias': missing");
    auto extra = sd;
    extra["blocks.1.attn.q_norm.weight"] = torch::ones({16});
    expectError([&] { io::loadModel(folder("bin-extra", extra).string()); }, "pytorch_model.bin",
                "'blocks.1.attn.q_norm.weight': unexpected");
  }

  // ---- hostile configs -------------------------------------------------------------------
  void hostileConfigs_data() {
    QTest::addColumn<QString>("fixtureDir");
    QTest::addColumn<QString>("pointer");  // JSON pointer of the field to change
    QTest::addColumn<int>("value");
    QTest::addColumn<QString>("needle");
    QTest::newRow("timm zero depth") << "timm_vit" << "/model_args/depth" << 0 << "n_layers";
    QTest::newRow("timm negative width") << "timm_vit" << "/model_args/embed_dim" << -64 << "embed_dim";
    QTest::newRow("timm heads do not divide") << "timm_vit" << "/model_args/num_heads" << 5 << "do not divide";
    QTest::newRow("timm wrong depth") << "timm_vit" << "/model_args/depth" << 4 << "blocks.3.norm1.weight': missing";
    QTest::newRow("CLIP zero heads") << "hf_clip_vision" << "/num_attention_heads" << 0 << "num_attention_heads";
    QTest::newRow("CLIP wrong image size") << "hf_clip_vision" << "/image_size" << 64 << "position_embedding.weight";
    QTest::newRow("mouse heads do not divide") << "legacy_mice/legacy_2L_full_LN" << "/transformer/num_heads" << 3
                                               << "do not divide";
    QTest::newRow("mouse negative patch") << "legacy_mice/legacy_2L_full_LN" << "/image/patch_size" << -8
                                          << "patch_size";
    QTest::newRow("HF ViTModel zero width") << "hf_vit_model" << "/hidden_size" << 0 << "d_model";
  }

  void hostileConfigs() {
    QFETCH(QString, fixtureDir);
    QFETCH(QString, pointer);
    QFETCH(int, value);
    QFETCH(QString, needle);
    const fs::path src = fixture(fixtureDir.toStdString());
    const fs::path dir = path("bad-config-" + QString(fixtureDir).replace('/', '_').toStdString() + "-" +
                              std::to_string(std::abs(value)) + QString(pointer).replace('/', '_').toStdString());
    fs::create_directories(dir);
    for (const auto& e : fs::recursive_directory_iterator(src)) {
      const fs::path rel = fs::relative(e.path(), src);
      if (e.is_directory()) fs::create_directories(dir / rel);
      else if (rel != "config.json") fs::create_symlink(e.path(), dir / rel);
    }
    nlohmann::json cfg = nlohmann::json::parse(readText((src / "config.json").string()));
    cfg[nlohmann::json::json_pointer(pointer.toStdString())] = value;
    writeText((dir / "config.json").string(), cfg.dump());
    const std::string named = needle.contains("':") ? "model.safetensors" : "config.json";
    expectError([&] { io::loadModel(dir.string()); }, named, needle.toStdString());
  }

  // A native folder whose config is far larger than its weights is refused before the
  // model is built (it would otherwise allocate what the config says).
  void oversizedConfigIsRefusedBeforeAllocating() {
    // A budget beyond any machine, so the weights-vs-config guard answers here, not the
    // memory budget (whose default depends on this machine's memory).
    qputenv("PRISMA_MAX_MEMORY", "1T");
    const auto restore = qScopeGuard([] { qunsetenv("PRISMA_MAX_MEMORY"); });
    const std::string dir = path("oversized");
    io::saveModel(model("hf_vit_classifier"), dir);
    nlohmann::json j = nlohmann::json::parse(readText(dir + "/config.json"));
    j["config"]["n_layers"] = 100000;
    writeText(dir + "/config.json", j.dump());
    expectError([&] { io::loadModel(dir); }, "model.safetensors", "the config implies");
  }

  // Found by fuzz_model_files: configs of the newer formats whose sizes the text tower
  // and the SAE allocated before comparing them with anything (terabytes from a few
  // bytes; int64 overflow in ViT-Prisma's d_in x expansion_factor).
  void oversizedTextTowerIsRefusedBeforeAllocating_data() {
    QTest::addColumn<QString>("pointer");
    QTest::addColumn<qint64>("value");
    QTest::newRow("vocabulary 2^31") << "/model_cfg/text_cfg/vocab_size" << qint64(2147483647);
    QTest::newRow("context 2e9") << "/model_cfg/text_cfg/context_length" << qint64(2000000000);
  }

  void oversizedTextTowerIsRefusedBeforeAllocating() {
    QFETCH(QString, pointer);
    QFETCH(qint64, value);
    qputenv("PRISMA_MAX_MEMORY", "4G");
    const auto restore = qScopeGuard([] { qunsetenv("PRISMA_MAX_MEMORY"); });
    const fs::path src = fixture("open_clip_vit");
    const fs::path dir = path("open_clip-" + QString(pointer).replace('/', '_').toStdString());
    fs::create_directories(dir);
    fs::create_symlink(src / "open_clip_model.safetensors", dir / "open_clip_model.safetensors");
    nlohmann::json cfg = nlohmann::json::parse(readText((src / "open_clip_config.json").string()));
    cfg[nlohmann::json::json_pointer(pointer.toStdString())] = value;
    writeText((dir / "open_clip_config.json").string(), cfg.dump());
    expectError([&] { clip::loadClip(dir.string()); }, "open_clip_config.json", "model_cfg.text_cfg.width");
  }

  void oversizedSaeIsRefusedBeforeAllocating_data() {
    QTest::addColumn<QString>("field");
    QTest::addColumn<qint64>("value");
    QTest::addColumn<QString>("budget");
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("needle");
    QTest::newRow("d_sae 2^40") << "d_sae" << (qint64(1) << 40) << "4G" << "sae.json" << "d_sae";
    QTest::newRow("d_in 2^40") << "d_in" << (qint64(1) << 40) << "4G" << "sae.json" << "d_sae";
    // Within the budget but not what the file holds: refused by the shapes, unbuilt.
    QTest::newRow("d_sae 2^22, budget 1T") << "d_sae" << (qint64(1) << 22) << "1T" << "sae.safetensors"
                                           << "'W_enc': has shape [64, 256], expected [64, 4194304]";
  }

  void oversizedSaeIsRefusedBeforeAllocating() {
    QFETCH(QString, field);
    QFETCH(qint64, value);
    QFETCH(QString, budget);
    QFETCH(QString, file);
    QFETCH(QString, needle);
    // The 2^22 row's SAE would take 2 GiB: the peak resident size must not grow by that.
    constexpr long kMaxGrowthKiB = 512L << 10;
    const std::string dir = path("sae-" + field.toStdString() + "-" + std::to_string(value));
    sae::saveSae(*sae::loadSae(fixture("prisma_sae")).sae, dir);
    nlohmann::json j = nlohmann::json::parse(readText(dir + "/sae.json"));
    j[field.toStdString()] = value;
    writeText(dir + "/sae.json", j.dump());
    qputenv("PRISMA_MAX_MEMORY", budget.toUtf8());
    const auto restore = qScopeGuard([] { qunsetenv("PRISMA_MAX_MEMORY"); });
    rusage before{}, after{};
    getrusage(RUSAGE_SELF, &before);
    expectError([&] { sae::loadSae(dir); }, file.toStdString(), needle.toStdString());
    getrusage(RUSAGE_SELF, &after);
    QVERIFY2(after.ru_maxrss - before.ru_maxrss < kMaxGrowthKiB,
             ("peak RSS grew by " + std::to_string(after.ru_maxrss - before.ru_maxrss) + " KiB").c_str());
  }

  void saeExpansionOverflowIsRefused() {
    nlohmann::json j = nlohmann::json::parse(readText(fixture("prisma_sae") + "/config.json"));
    j["d_in"] = qint64(1) << 40;
    j["expansion_factor"] = qint64(1) << 40;
    std::vector<std::string> notes;
    expectError([&] { sae::saeConfigFromPrisma(j, "config.json", notes); }, "config.json", "expansion_factor");
  }
};

QTEST_GUILESS_MAIN(TestHostileModelFiles)
#include "tst_hostile_model_files.moc"
