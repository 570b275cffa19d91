// Weight files from strangers: the safetensors reader and the model loaders must turn
// every malformed input into an error naming the file and the field, never a crash.

#include "Tolerances.h"
#include "ExpectError.h"
#include "TestUtil.h"

#include "model/Error.h"
#include "model/io/ModelLoader.h"
#include "model/io/SafeTensors.h"
#include "model/io/WeightStorage.h"
#include "model/vit/Config.h"

#include <nlohmann/json.hpp>

#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

using namespace prisma;
using prisma::test::expectError;
using prisma::test::fixture;
namespace fs = std::filesystem;

namespace {

void writeBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string readBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A safetensors file from a header text, a declared header length and a data section.
std::string safetensorsBytes(const std::string& header, uint64_t declared, const std::string& data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((declared >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string safetensorsBytes(const std::string& header, const std::string& data) {
  return safetensorsBytes(header, header.size(), data);
}

}  // namespace

class TestModelIo : public QObject {
  Q_OBJECT

private:
  QTemporaryDir tmp_;

  std::string path(const char* name) const { return tmp_.filePath(name).toStdString(); }


private slots:
  void initTestCase() { QVERIFY(tmp_.isValid()); }

  void hostileSafetensors_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("needle");
    const std::string f32x2 = std::string(8, '\0');  // two float32 zeros
    auto row = [](const char* name, const std::string& bytes, const char* needle) {
      QTest::newRow(name) << QByteArray(bytes.data(), int(bytes.size())) << QString(needle);
    };
    row("empty file", "", "too short");
    row("header length past the end",
        safetensorsBytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4096, f32x2), "runs past the end");
    row("absurd header size 2^62", safetensorsBytes("{}", 1ull << 62, ""), "absurd");
    row("header not JSON", safetensorsBytes("{not json", ""), "not valid JSON");
    row("header not an object", safetensorsBytes("[1,2]", ""), "not a JSON object");
    row("offsets past the end",
        safetensorsBytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", f32x2), "run past the end");
    row("offsets reversed",
        safetensorsBytes(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", f32x2), "begin after");
    row("overlapping tensors",
        safetensorsBytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", f32x2), "overlaps");
    row("byte count disagrees with shape",
        safetensorsBytes(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", f32x2), "holds 8 bytes");
    row("dtype disagrees with bytes",
        safetensorsBytes(R"({"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})", f32x2), "needs 16");
    row("unknown dtype",
        safetensorsBytes(R"({"a":{"dtype":"F13","shape":[2],"data_offsets":[0,8]}})", f32x2), "unsupported dtype");
    row("negative dimension",
        safetensorsBytes(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", f32x2), "non-negative");
    row("duplicate names",
        safetensorsBytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                         R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", f32x2), "appears twice");
    row("missing data_offsets", safetensorsBytes(R"({"a":{"dtype":"F32","shape":[2]}})", f32x2), "data_offsets");
  }

  void hostileSafetensors() {
    QFETCH(QByteArray, bytes);
    QFETCH(QString, needle);
    const std::string file = path("hostile.safetensors");
    writeBytes(file, bytes.toStdString());
    expectError([&] { io::SafeTensorsFile st(file); }, file, needle.toStdString());
  }

  void truncatedRealFile() {
    const std::string original = readBytes(fixture("hf_vit_classifier/model.safetensors"));
    const std::string file = path("truncated.safetensors");
    writeBytes(file, original.substr(0, original.size() / 2));
    expectError([&] { io::SafeTensorsFile st(file); }, file, "run past the end");
  }

  void missingFiles() {
    expectError([&] { io::SafeTensorsFile st(path("nope.safetensors")); }, "nope.safetensors", "cannot open");
    expectError([&] { io::loadModel(path("no-such-model")); }, "no-such-model", "no such file");
    fs::create_directories(path("empty-folder"));
    expectError([&] { io::loadModel(path("empty-folder")); }, "config.json", "missing");
  }

  void roundTripWriter() {
    std::map<std::string, torch::Tensor> tensors = {
        {"f32", torch::randn({3, 5})},
        {"f16", torch::randn({7}).to(torch::kFloat16)},
        {"i64", torch::arange(11)},
        {"u8", torch::randint(0, 255, {2, 2}).to(torch::kUInt8)},
        {"empty", torch::zeros({0, 4})},
        {"noncontig", torch::randn({4, 6}).t()}};
    const std::string file = path("round.safetensors");
    io::writeSafeTensors(file, tensors, {{"k", "v"}});
    io::SafeTensorsFile st(file);
    QCOMPARE(st.names().size(), tensors.size());
    QCOMPARE(st.metadata().at("k"), std::string("v"));
    for (const auto& [name, t] : tensors) {
      QVERIFY2(torch::equal(st.tensor(name), t.contiguous()), name.c_str());
      QCOMPARE(st.tensor(name).scalar_type(), t.scalar_type());
    }
    QVERIFY(!fs::exists(file + ".tmp-" + std::to_string(::getpid())));
  }

  // The reader keeps the file mapped while tensors viewing it live, so a tensor stays
  // valid after the reader object is gone.
  void tensorsOutliveTheReader() {
    torch::Tensor t;
    {
      io::SafeTensorsFile st(fixture("hf_vit_classifier/model.safetensors"));
      t = st.tensor("classifier.weight");
    }
    QCOMPARE(t.sizes().vec(), (std::vector<int64_t>{10, 64}));
    QVERIFY(std::isfinite(t.sum().item<double>()));
  }

  void shapeDisagreesWithConfig() {
    // intermediate_size 256 in config.json, 128 in the weights.
    const fs::path dir = path("bad-shape");
    fs::create_directories(dir);
    fs::copy_file(fixture("hf_vit_classifier/model.safetensors"), dir / "model.safetensors");
    nlohmann::json cfg = nlohmann::json::parse(readBytes(fixture("hf_vit_classifier/config.json")));
    cfg["intermediate_size"] = 256;
    writeBytes((dir / "config.json").string(), cfg.dump());
    expectError([&] { io::loadModel(dir.string()); }, "model.safetensors",
                "vit.encoder.layer.0.intermediate.dense.weight': has shape [128, 64] but");
  }

  void nonsenseConfig_data() {
    QTest::addColumn<QString>("key");
    QTest::addColumn<int>("value");
    QTest::addColumn<QString>("needle");
    QTest::newRow("zero heads") << "num_attention_heads" << 0 << "num_attention_heads";
    QTest::newRow("heads do not divide") << "num_attention_heads" << 5 << "do not divide";
    QTest::newRow("negative layers") << "num_hidden_layers" << -1 << "n_layers";
    QTest::newRow("patch does not divide image") << "patch_size" << 7 << "does not divide";
  }

  void nonsenseConfig() {
    QFETCH(QString, key);
    QFETCH(int, value);
    QFETCH(QString, needle);
    const fs::path dir = path("bad-config");
    fs::create_directories(dir);
    if (!fs::exists(dir / "model.safetensors"))
      fs::copy_file(fixture("hf_vit_classifier/model.safetensors"), dir / "model.safetensors");
    nlohmann::json cfg = nlohmann::json::parse(readBytes(fixture("hf_vit_classifier/config.json")));
    cfg[key.toStdString()] = value;
    writeBytes((dir / "config.json").string(), cfg.dump());
    expectError([&] { io::loadModel(dir.string()); }, "config.json", needle.toStdString());
  }

  void unexpectedAndMissingTensors() {
    const std::string src = fixture("hf_vit_classifier/model.safetensors");
    io::SafeTensorsFile st(src);
    std::map<std::string, torch::Tensor> all;
    for (const auto& n : st.names()) all[n] = st.tensor(n).clone();
    const std::string config = readBytes(fixture("hf_vit_classifier/config.json"));

    auto withTensors = [&](const char* name, const std::map<std::string, torch::Tensor>& t) {
      const fs::path dir = path(name);
      fs::create_directories(dir);
      io::writeSafeTensors((dir / "model.safetensors").string(), t);
      writeBytes((dir / "config.json").string(), config);
      return dir.string();
    };
    auto extra = all;
    extra["vit.encoder.layer.9.attention.attention.query.weight"] = torch::zeros({64, 64});
    expectError([&] { io::loadModel(withTensors("extra", extra)); }, "model.safetensors",
                "vit.encoder.layer.9.attention.attention.query.weight': unexpected");
    auto missing = all;
    missing.erase("vit.layernorm.bias");
    expectError([&] { io::loadModel(withTensors("missing", missing)); }, "model.safetensors",
                "vit.layernorm.bias': missing");
  }

  void nativeFormatRoundTrip() {
    auto hf = io::loadModel(fixture("hf_vit_classifier"));
    const std::string dir = path("native");
    io::saveModel(hf, dir);
    auto back = io::loadModel(dir);
    QCOMPARE(back.format, std::string("prisma"));
    QCOMPARE(back.model->cfg().class_names, hf.model->cfg().class_names);
    torch::NoGradGuard no_grad;
    const torch::Tensor x = torch::randn({2, 3, 32, 32});
    QVERIFY(torch::equal(back.model->forward(x), hf.model->forward(x)));
  }

  // Int8 blocks: every value back within half a step of its block's scale, whatever the
  // shape (padding in the last block included), small tensors float16, integers untouched.
  void int8BlocksRoundTrip_data() {
    QTest::addColumn<QVector<qlonglong>>("shape");
    QTest::addColumn<bool>("quantized");
    QTest::newRow("matrix, whole blocks") << QVector<qlonglong>{64, 64} << true;
    QTest::newRow("heads x d_model x d_head, last block padded") << QVector<qlonglong>{3, 17, 31} << true;
    QTest::newRow("conv kernel") << QVector<qlonglong>{32, 3, 7, 7} << true;
    QTest::newRow("at the threshold") << QVector<qlonglong>{io::kMinInt8Elements} << true;
    QTest::newRow("bias below the threshold") << QVector<qlonglong>{io::kMinInt8Elements - 1} << false;
  }

  void int8BlocksRoundTrip() {
    QFETCH(QVector<qlonglong>, shape);
    QFETCH(bool, quantized);
    const std::vector<int64_t> sizes(shape.begin(), shape.end());
    torch::manual_seed(7);
    torch::Tensor w = torch::randn(sizes);
    w.view({-1})[5] = 40.0f;                                 // an outlier coarsens only its own block
    if (w.numel() >= 2 * io::kInt8BlockSize)
      w.view({-1}).slice(0, io::kInt8BlockSize, 2 * io::kInt8BlockSize).zero_();  // an all-zero block
    const std::string file = path("int8.safetensors");
    io::writeWeights(file, {{"w", w}, {"steps", torch::arange(5)}}, io::WeightStorage::Int8Blocks);

    io::SafeTensorsFile st(file);
    QCOMPARE(io::weightNames(st), (std::vector<std::string>{"steps", "w"}));
    QCOMPARE(st.entry("w").dtype, std::string(quantized ? "I8" : "F16"));
    QCOMPARE(st.contains(std::string("w") + io::kInt8ScaleSuffix), quantized);
    // A non-float tensor is stored as it is, and is not a float weight (integer
    // labels on float bytes would otherwise be converted into garbage weights).
    QVERIFY(torch::equal(st.tensor("steps"), torch::arange(5)));
    expectError([&] { io::readFloatWeight(st, "steps"); }, "steps", "floating-point");
    const torch::Tensor back = io::readFloatWeight(st, "w");
    QCOMPARE(back.scalar_type(), torch::kFloat32);
    QCOMPARE(back.sizes().vec(), sizes);
    if (!quantized) {
      QVERIFY(torch::equal(back, w.to(torch::kFloat16).to(torch::kFloat32)));
      return;
    }
    // Per block: |error| <= max|block| / 254 (half of the step max|block| / 127).
    const int64_t n = w.numel(), blocks = (n + io::kInt8BlockSize - 1) / io::kInt8BlockSize;
    const auto pad = [&](const torch::Tensor& t) {
      return torch::constant_pad_nd(t.reshape({-1}), {0, blocks * io::kInt8BlockSize - n}).view({blocks, -1});
    };
    const torch::Tensor err = (pad(back) - pad(w)).abs().amax(1);
    const torch::Tensor bound = pad(w).abs().amax(1) / 254.0 * (1.0 + 1e-5);
    QVERIFY2((err <= bound).all().item<bool>(), "a value is more than half a step off");
    QCOMPARE(back.view({-1})[5].item<float>(), 40.0f);     // a block's largest value is exact
    if (n >= 2 * io::kInt8BlockSize)
      QVERIFY(back.view({-1}).slice(0, io::kInt8BlockSize, 2 * io::kInt8BlockSize).eq(0).all().item<bool>());
  }

  // A model saved as int8 blocks loads as float32 and computes what the float32 model does,
  // to within the quantisation step; float16 storage likewise. The bound is loose because
  // this random-init fixture's logits are small sums of cancelling terms (int8 gives ~2.8 %).
  void nativeFormatInReducedStorage() {
    using prisma::test::kReducedStorageTolerance;
    auto hf = io::loadModel(fixture("hf_vit_classifier"));
    torch::NoGradGuard no_grad;
    torch::manual_seed(3);
    const torch::Tensor x = torch::randn({4, 3, 32, 32});
    const torch::Tensor want = hf.model->forward(x);
    for (const auto storage : {io::WeightStorage::Int8Blocks, io::WeightStorage::Float16}) {
      const std::string dir = path(("native-" + io::toString(storage)).c_str());
      io::saveModel(hf, dir, storage);
      auto back = io::loadModel(dir);
      const std::string note = "weights stored as " + io::toString(storage) + " on disk, float32 in memory";
      QVERIFY2(std::find(back.notes.begin(), back.notes.end(), note) != back.notes.end(), note.c_str());
      const torch::Tensor got = back.model->forward(x);
      const double rel = (got - want).norm().item<double>() / want.norm().item<double>();
      QVERIFY2(rel < kReducedStorageTolerance, (io::toString(storage) + " output off by relative " + std::to_string(rel)).c_str());
      QVERIFY(rel > 0.0);  // it really was stored narrower
    }
    // Int8 files are the smaller ones.
    QVERIFY(fs::file_size(path("native-int8") + "/model.safetensors") <
            fs::file_size(path("native-float16") + "/model.safetensors") * 6 / 10);
  }

  void hostileInt8Blocks_data() {
    QTest::addColumn<QString>("scheme");
    QTest::addColumn<QString>("block");
    QTest::addColumn<int>("scales");
    QTest::addColumn<double>("scaleValue");
    QTest::addColumn<bool>("int8");
    QTest::addColumn<QString>("needle");
    const int right = 1024 / 64;
    QTest::newRow("no scheme") << "" << "64" << right << 0.1 << true << "missing, but the file holds int8 scales";
    QTest::newRow("unknown scheme") << "int4_groups" << "64" << right << 0.1 << true << "unknown scheme 'int4_groups'";
    QTest::newRow("block size zero") << "int8_blocks" << "0" << right << 0.1 << true << "outside 1..";
    QTest::newRow("block size text") << "int8_blocks" << "sixty" << right << 0.1 << true << "not a positive integer";
    QTest::newRow("block size huge") << "int8_blocks" << "99999999999" << right << 0.1 << true << "not a positive integer";
    QTest::newRow("too few scales") << "int8_blocks" << "64" << right - 1 << 0.1 << true << "expected [16]";
    QTest::newRow("NaN scale") << "int8_blocks" << "64" << right << double(NAN) << true << "non-finite";
    QTest::newRow("negative scale") << "int8_blocks" << "64" << right << -1.0 << true << "negative";
    QTest::newRow("scale on a float tensor") << "int8_blocks" << "64" << right << 0.1 << false << "not I8";
  }

  void hostileInt8Blocks() {
    QFETCH(QString, scheme);
    QFETCH(QString, block);
    QFETCH(int, scales);
    QFETCH(double, scaleValue);
    QFETCH(bool, int8);
    QFETCH(QString, needle);
    std::map<std::string, std::string> meta = {{io::kInt8BlockSizeKey, block.toStdString()}};
    if (!scheme.isEmpty()) meta[io::kQuantizationKey] = scheme.toStdString();
    const torch::Tensor w = int8 ? torch::ones({16, 64}, torch::kInt8) : torch::ones({16, 64});
    const std::string file = path("hostile-int8.safetensors");
    io::writeSafeTensors(file, {{"w", w}, {std::string("w") + io::kInt8ScaleSuffix, torch::full({scales}, scaleValue)}},
                         meta);
    io::SafeTensorsFile st(file);
    if (!int8) {
      expectError([&] { io::weightNames(st); }, file, "without an I8 tensor 'w'");
      if (QTest::currentTestFailed()) return;
    }
    expectError([&] { io::readFloatWeight(st, "w"); }, file, needle.toStdString());
  }

  void strayScale() {
    const std::string file = path("stray-scale.safetensors");
    io::writeSafeTensors(file, {{std::string("gone") + io::kInt8ScaleSuffix, torch::ones({1})}});
    io::SafeTensorsFile st(file);
    expectError([&] { io::weightNames(st); }, file, "without an I8 tensor 'gone'");
  }

  void configJsonRoundTrip() {
    ViTConfig c;
    c.activation = Activation::QuickGelu;
    c.pooling = Pooling::Mean;
    c.normalization = Normalization::LNPre;
    c.n_classes = 2;
    c.class_names = {"cat", "dog"};
    const ViTConfig back = configFromJson(nlohmann::json(c), "mem");
    QCOMPARE(nlohmann::json(back).dump(), nlohmann::json(c).dump());
    nlohmann::json bad = c;
    bad["activation"] = "swish";
    expectError([&] { configFromJson(bad, "cfg.json"); }, "cfg.json", "'activation': unknown value 'swish'");
    bad = c;
    bad["d_model"] = "wide";
    expectError([&] { configFromJson(bad, "cfg.json"); }, "cfg.json", "'d_model': has the wrong type");
  }
};

QTEST_GUILESS_MAIN(TestModelIo)
#include "tst_model_io.moc"
