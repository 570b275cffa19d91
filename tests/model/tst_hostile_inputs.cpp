// Hostile inputs: files and arguments an attacker or a careless user hands to `prisma` and the
// explorer's open paths. Every input is generated here at test time (a 20,000 x 20,000 PNG is a
// valid 60-byte header; a "ViT-Huge" pickle is a few KB of stride-0 views), never shipped. Each
// CLI case must end with exit 1 (a bad file) or 2 (a bad argument) within seconds, say which
// file and which field, and stay under 1.5 GB of peak resident memory -- measured with wait4's
// rusage of that one child, so nothing else the test does counts.

#include "TorchSaveWriter.h"

#include "datasets/ImageIO.h"
#include "datasets/Npz.h"
#include "model/core/Json.h"
#include "model/core/Numbers.h"
#include "model/io/InputSpec.h"
#include "model/io/ModelLoader.h"
#include "model/io/ResourcePaths.h"
#include "model/train/Checkpoint.h"
#include "model/train/Presets.h"
#include "model/zoo/ZooManifest.h"

#include "ExpectError.h"

#include <QTemporaryDir>
#include <QtTest>

#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace prisma;
using prisma::test::expectError;

namespace {

constexpr long kMaxRssKiB = 1536L * 1024;  // 1.5 GB: what refusing an input may cost at most
constexpr double kMaxSeconds = 30.0;       // "within a few seconds", on a loaded 2-core machine
constexpr int kChildTimeoutMs = 120'000;   // a hang shows as a timeout, not a stuck suite
constexpr int kDeepLevels = 100'000;       // the nesting that crashed 9 entry points
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr const char* kMouse = "mouse:induction-2L";

std::string fixture(const std::string& relative) { return std::string(PRISMA_FIXTURES_DIR) + "/" + relative; }

std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void writeText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// `levels` objects, each the value of "a", around a 1: what a fuzzer or an attacker
// puts where a config expects a small object.
std::string deepJson(int levels) {
  std::string s;
  s.reserve(static_cast<size_t>(levels) * 6 + 1);
  for (int i = 0; i < levels; ++i) s += "{\"a\":";
  s += "1";
  s.append(static_cast<size_t>(levels), '}');
  return s;
}

// Replaces the value of "key" in a JSON text (a flat, pretty-printed fixture) by `value`;
// text surgery, because parsing 100,000 levels is exactly what must not be done.
std::string withValue(const nlohmann::json& doc, const std::string& key, const std::string& value) {
  nlohmann::json copy = doc;
  copy[key] = "@@HOSTILE@@";
  std::string text = copy.dump();
  const std::string marker = "\"@@HOSTILE@@\"";
  text.replace(text.find(marker), marker.size(), value);
  return text;
}

// A model folder whose files are symlinks to `fixtureDir`'s, except those in `skip`.
void linkFolder(const std::string& fixtureDir, const std::string& dir, const std::vector<std::string>& skip) {
  fs::create_directories(dir);
  for (const auto& e : fs::directory_iterator(fixtureDir)) {
    const std::string name = e.path().filename().string();
    if (std::find(skip.begin(), skip.end(), name) == skip.end()) fs::create_symlink(e.path(), fs::path(dir) / name);
  }
}

uint32_t crc32(const std::string& bytes) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : bytes) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

std::string be32(uint32_t v) {
  return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}
std::string le16(uint32_t v) { return {char(v), char(v >> 8)}; }
std::string le32(uint32_t v) { return {char(v), char(v >> 8), char(v >> 16), char(v >> 24)}; }

std::string pngChunk(const std::string& type, const std::string& data) {
  return be32(static_cast<uint32_t>(data.size())) + type + data + be32(crc32(type + data));
}

// A PNG whose header declares width x height RGB pixels; its (empty) data would never
// decode, but nothing may get that far.
std::string forgedPng(uint32_t width, uint32_t height) {
  const std::string ihdr = be32(width) + be32(height) + std::string("\x08\x02\x00\x00\x00", 5);
  const std::string idat("\x78\x9c\x03\x00\x00\x00\x00\x01", 8);  // zlib of nothing
  return std::string("\x89PNG\r\n\x1a\n", 8) + pngChunk("IHDR", ihdr) + pngChunk("IDAT", idat) + pngChunk("IEND", "");
}

// A stored-only zip archive of `entries` (name, bytes), as NumPy writes an .npz.
std::string storedZip(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out, directory;
  for (const auto& [name, data] : entries) {
    const uint32_t offset = static_cast<uint32_t>(out.size()), crc = crc32(data), size = static_cast<uint32_t>(data.size());
    out += le32(0x04034b50) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc) + le32(size) + le32(size) +
           le16(static_cast<uint32_t>(name.size())) + le16(0) + name + data;
    directory += le32(0x02014b50) + le16(20) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc) +
                 le32(size) + le32(size) + le16(static_cast<uint32_t>(name.size())) + le16(0) + le16(0) + le16(0) +
                 le16(0) + le32(0) + le32(offset) + name;
  }
  const uint32_t dirOffset = static_cast<uint32_t>(out.size());
  out += directory;
  out += le32(0x06054b50) + le16(0) + le16(0) + le16(static_cast<uint32_t>(entries.size())) +
         le16(static_cast<uint32_t>(entries.size())) + le32(static_cast<uint32_t>(directory.size())) + le32(dirOffset) +
         le16(0);
  return out;
}

// An .npy v1.0 array header (and no data) declaring `shape`.
std::string npyHeaderOnly(const std::string& descr, const std::string& shape) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + dict.size() + 1) % 64 != 0) dict += ' ';
  dict += '\n';
  return std::string("\x93NUMPY\x01\x00", 8) + le16(static_cast<uint32_t>(dict.size())) + dict;
}

// One prisma run: exit code, stderr, wall time and the child's own peak RSS.
struct ChildRun {
  int code = -1;  // -1: timed out or killed by a signal
  int signal = 0;
  long maxRssKiB = 0;
  double seconds = 0.0;
  std::string err;
};

ChildRun runPrisma(const std::vector<std::string>& args, const std::vector<std::string>& extraEnv = {}) {
  ChildRun r;
  char errPath[] = "/tmp/prisma-hostile-err-XXXXXX";
  const int errFd = ::mkstemp(errPath);
  if (errFd < 0) return r;
  std::vector<std::string> argvText{PRISMA_CLI_PATH};
  argvText.insert(argvText.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argvText) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The environment is built before fork: only async-signal-safe calls may follow it.
  std::vector<std::string> envText{"PRISMA_NO_BLAS_REEXEC=1"};
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "PRISMA_", 7) != 0) envText.emplace_back(*e);
  envText.insert(envText.end(), extraEnv.begin(), extraEnv.end());
  std::vector<char*> envp;
  for (auto& e : envText) envp.push_back(e.data());
  envp.push_back(nullptr);

  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(errFd, 2);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  int status = 0;
  struct rusage ru {};
  while (true) {
    const pid_t done = ::wait4(pid, &status, WNOHANG, &ru);
    if (done == pid) break;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (elapsed * 1000.0 > kChildTimeoutMs) {
      ::kill(pid, SIGKILL);
      ::wait4(pid, &status, 0, &ru);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.maxRssKiB = ru.ru_maxrss;
  if (WIFEXITED(status)) r.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  ::close(errFd);
  r.err = readText(errPath);
  ::unlink(errPath);
  return r;
}

}  // namespace

class TestHostileInputs : public QObject {
  Q_OBJECT

  QTemporaryDir tmp_;
  std::string path(const std::string& name) const { return (fs::path(tmp_.path().toStdString()) / name).string(); }

  // The inputs, generated once.
  void makeInputs() {
    const nlohmann::json hf = nlohmann::json::parse(readText(fixture("hf_vit_classifier/config.json")));
    const nlohmann::json timm = nlohmann::json::parse(readText(fixture("timm_vit/config.json")));
    const nlohmann::json legacy = nlohmann::json::parse(readText(fixture("legacy_mice/legacy_2L_full_LN/config.json")));
    const std::string deep = deepJson(kDeepLevels);

    linkFolder(fixture("hf_vit_classifier"), path("deep-id2label"), {"config.json"});
    writeText(path("deep-id2label/config.json"), withValue(hf, "id2label", deep));
    linkFolder(fixture("timm_vit"), path("deep-pretrained-cfg"), {"config.json"});
    writeText(path("deep-pretrained-cfg/config.json"), withValue(timm, "pretrained_cfg", deep));
    linkFolder(fixture("legacy_mice/legacy_2L_full_LN"), path("deep-legacy"), {"config.json"});
    writeText(path("deep-legacy/config.json"), withValue(legacy, "image", deep));
    linkFolder(fixture("hf_vit_classifier"), path("deep-preprocessor"), {});
    writeText(path("deep-preprocessor/preprocessor_config.json"), "{\"size\": " + deep + "}");
    const std::string mouse = io::mouseDirectory(kMouse);
    linkFolder(mouse, path("deep-training-json"), {});
    writeText(path("deep-training-json/training.json"), deep);
    linkFolder(mouse, path("deep-native-config"), {"config.json"});
    const nlohmann::json native = nlohmann::json::parse(readText(mouse + "/config.json"));
    writeText(path("deep-native-config/config.json"), withValue(native, "provenance", deep));

    // Preprocessing asked to produce 30,000 x 30,000 pixels.
    linkFolder(fixture("hf_vit_classifier"), path("huge-preprocess"), {});
    writeText(path("huge-preprocess/preprocessor_config.json"),
              R"({"do_resize": true, "size": {"height": 30000, "width": 30000}, "image_mean": [0.5, 0.5, 0.5],
                  "image_std": [0.5, 0.5, 0.5]})");

    // FIFOs where an image and a weight file are expected.
    QVERIFY(::mkfifo(path("image.fifo").c_str(), 0600) == 0);
    linkFolder(fixture("hf_vit_classifier"), path("fifo-weights"), {"model.safetensors", "pytorch_model.bin"});
    QVERIFY(::mkfifo(path("fifo-weights/model.safetensors").c_str(), 0600) == 0);
    linkFolder(fixture("hf_vit_classifier"), path("fifo-bin"), {"model.safetensors", "pytorch_model.bin"});
    QVERIFY(::mkfifo(path("fifo-bin/pytorch_model.bin").c_str(), 0600) == 0);

    // Image bombs: headers of 144 and 400 megapixels in a few dozen bytes.
    writeText(path("12000.png"), forgedPng(12000, 12000));
    writeText(path("20000.png"), forgedPng(20000, 20000));

    // A JPEG cut short.
    std::vector<unsigned char> pixels(64 * 64 * 3);
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<unsigned char>((i * 7) % 251);
    datasets::writeImage(path("whole.jpg"), pixels.data(), 64, 64, 3);
    const std::string jpeg = readText(path("whole.jpg"));
    writeText(path("truncated.jpg"), jpeg.substr(0, jpeg.size() * 6 / 10));

    // A small HF .bin whose tensors declare a ViT-Huge (632 M parameters) as stride-0
    // views of one 4-byte storage.
    {
      constexpr int D = 1280, M = 5120, L = 32, P = 14, T = 257, C = 1000;
      std::vector<std::pair<std::string, std::vector<int64_t>>> shapes = {
          {"vit.embeddings.cls_token", {1, 1, D}},
          {"vit.embeddings.position_embeddings", {1, T, D}},
          {"vit.embeddings.patch_embeddings.projection.weight", {D, 3, P, P}},
          {"vit.embeddings.patch_embeddings.projection.bias", {D}}};
      for (int l = 0; l < L; ++l) {
        const std::string b = "vit.encoder.layer." + std::to_string(l) + ".";
        for (const char* qkv : {"query", "key", "value"}) {
          shapes.push_back({b + "attention.attention." + qkv + ".weight", {D, D}});
          shapes.push_back({b + "attention.attention." + qkv + ".bias", {D}});
        }
        shapes.push_back({b + "attention.output.dense.weight", {D, D}});
        shapes.push_back({b + "attention.output.dense.bias", {D}});
        shapes.push_back({b + "intermediate.dense.weight", {M, D}});
        shapes.push_back({b + "intermediate.dense.bias", {M}});
        shapes.push_back({b + "output.dense.weight", {D, M}});
        shapes.push_back({b + "output.dense.bias", {D}});
        for (const char* ln : {"layernorm_before", "layernorm_after"}) {
          shapes.push_back({b + ln + ".weight", {D}});
          shapes.push_back({b + ln + ".bias", {D}});
        }
      }
      shapes.push_back({"vit.layernorm.weight", {D}});
      shapes.push_back({"vit.layernorm.bias", {D}});
      shapes.push_back({"classifier.weight", {C, D}});
      shapes.push_back({"classifier.bias", {C}});
      test::PickleBytes p;
      p.global("collections", "OrderedDict").op(')').op('R').mark();
      for (const auto& [name, shape] : shapes)
        p.str(name).tensor("0", 1, shape, std::vector<int64_t>(shape.size(), 0));
      p.op('u');
      fs::create_directories(path("vit-huge"));
      test::writeArchive(path("vit-huge/pytorch_model.bin"), p.done(), {{"0", std::string(4, '\0')}});
      nlohmann::json cfg = hf;
      cfg["hidden_size"] = D;
      cfg["intermediate_size"] = M;
      cfg["num_hidden_layers"] = L;
      cfg["num_attention_heads"] = 16;
      cfg["patch_size"] = P;
      cfg["image_size"] = 224;
      cfg.erase("id2label");
      cfg.erase("label2id");
      cfg["num_labels"] = C;
      writeText(path("vit-huge/config.json"), cfg.dump());
    }

    // data.pkl whose zip entry claims to inflate to 2 GiB.
    {
      fs::create_directories(path("deflate-bomb"));
      const std::string file = path("deflate-bomb/pytorch_model.bin");
      test::writeArchive(file, test::PickleBytes().op('}').done());
      std::string zip = readText(file);
      size_t at = 0;
      bool patched = false;
      while ((at = zip.find(std::string("PK\x01\x02", 4), at)) != std::string::npos) {
        const size_t nameLen = static_cast<unsigned char>(zip[at + 28]) | (static_cast<unsigned char>(zip[at + 29]) << 8);
        const std::string name = zip.substr(at + 46, nameLen);
        if (name.size() >= 8 && name.compare(name.size() - 8, 8, "data.pkl") == 0 &&
            zip.compare(at + 24, 4, std::string(4, '\xff')) != 0) {
          zip.replace(at + 10, 2, le16(8));            // method: deflate
          zip.replace(at + 24, 4, le32(0x80000000u));  // uncompressed size: 2 GiB
          patched = true;
        }
        at += 4;
      }
      QVERIFY2(patched, "no plain central-directory entry for data.pkl to patch");
      writeText(file, zip);
      writeText(path("deflate-bomb/config.json"), hf.dump());
    }

    // A legacy (pre-1.6, non-zip) torch.save where Hugging Face keeps its .bin.
    linkFolder(fixture("hf_vit_classifier"), path("legacy-bin"), {"model.safetensors", "pytorch_model.bin"});
    writeText(path("legacy-bin/pytorch_model.bin"),
              std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.\x80\x02}q\x00.", 22));

    // .npz headers claiming 2^28 and 4e9 rows of dSprites latents in a few hundred bytes.
    writeText(path("rows-2p28.npz"), storedZip({{"latents_classes.npy", npyHeaderOnly("<i8", "(268435456, 6)")}}));
    writeText(path("rows-4e9.npz"), storedZip({{"latents_classes.npy", npyHeaderOnly("<i8", "(4000000000, 6)")}}));
  }

private slots:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    makeInputs();
  }

  // Every hostile input that once crashed, hung or ate memory, through the CLI.
  void cli_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QStringList>("needles");  // the file and the field, at least
    auto row = [](const char* name, const std::vector<std::string>& args, int code, const std::vector<std::string>& needles) {
      QStringList a, n;
      for (const auto& s : args) a << QString::fromStdString(s);
      for (const auto& s : needles) n << QString::fromStdString(s);
      QTest::newRow(name) << a << code << n;
    };
    const std::string ref = fixture("hf_vit_classifier/reference.safetensors");
    row("deep id2label (HF config.json)", {"info", path("deep-id2label")}, kExitFailure,
        {"deep-id2label/config.json", "id2label", "nested deeper than 64"});
    row("deep pretrained_cfg (timm config.json)", {"info", path("deep-pretrained-cfg")}, kExitFailure,
        {"deep-pretrained-cfg/config.json", "pretrained_cfg", "nested deeper"});
    row("deep legacy mouse config.json", {"info", path("deep-legacy")}, kExitFailure,
        {"deep-legacy/config.json", "image", "nested deeper"});
    row("deep preprocessor_config.json", {"info", path("deep-preprocessor")}, kExitFailure,
        {"preprocessor_config.json", "size", "nested deeper"});
    row("deep training.json", {"info", path("deep-training-json")}, kExitFailure,
        {"deep-training-json/training.json", "nested deeper"});
    row("deep native config.json", {"info", path("deep-native-config")}, kExitFailure,
        {"deep-native-config/config.json", "provenance", "nested deeper"});
    row("bench forward --reps -1", {"bench", "forward", "--reps", "-1"}, kExitUsage, {"--reps", "-1"});
    row("attention --layer too large to fit", {"attention", kMouse, "--image", path("whole.jpg"), "--out", path("a.csv"),
                                                 "--layer", "99999999999999999999"},
        kExitUsage, {"--layer", "99999999999999999999"});
    row("--max-memory nonsense", {"info", kMouse, "--max-memory", "lots"}, kExitUsage, {"--max-memory", "lots"});
    row("FIFO as an image (run)", {"run", kMouse, "--input", path("image.fifo"), "--out", path("o.safetensors")},
        kExitFailure, {"image.fifo", "not a regular file"});
    row("FIFO as an image (attention)", {"attention", kMouse, "--image", path("image.fifo"), "--grid"}, kExitFailure,
        {"image.fifo", "not a regular file"});
    row("FIFO as the weights (safetensors)", {"info", path("fifo-weights")}, kExitFailure,
        {"fifo-weights/model.safetensors", "not a regular file"});
    row("FIFO as the weights (.bin)", {"info", path("fifo-bin")}, kExitFailure,
        {"fifo-bin/pytorch_model.bin", "not a regular file"});
    row("FIFO as the model", {"info", path("image.fifo")}, kExitFailure, {"image.fifo"});
    row("12000x12000 PNG", {"run", kMouse, "--input", path("12000.png"), "--out", path("o.safetensors")}, kExitFailure,
        {"12000.png", "12000x12000", "pixel limit"});
    row("20000x20000 PNG", {"attention", kMouse, "--image", path("20000.png"), "--grid"}, kExitFailure,
        {"20000.png", "20000x20000", "pixel limit"});
    row("preprocessor size 30000", {"info", path("huge-preprocess")}, kExitFailure,
        {"huge-preprocess/preprocessor_config.json", "size", "30000x30000"});
    row("ViT-Huge declared by a small pickle", {"info", path("vit-huge")}, kExitFailure,
        {"vit-huge/pytorch_model.bin", "data/0", "stride 0"});
    row("index that does not fit", {"run", kMouse, "--input", ref + ":pixel_values:99999999999999999999", "--out",
                                    path("o.safetensors")},
        kExitFailure, {"reference.safetensors", "pixel_values", "does not fit"});
    row("data.pkl deflated to 2 GiB", {"info", path("deflate-bomb")}, kExitFailure,
        {"deflate-bomb/pytorch_model.bin", "data.pkl", "2147483648"});
    row("npz claiming 2^28 rows", {"dataset", "info", "dsprites-npz", "--path", path("rows-2p28.npz")}, kExitFailure,
        {"rows-2p28.npz", "latents_classes", "shape"});
    row("npz claiming 4e9 rows", {"dataset", "info", "dsprites-npz", "--path", path("rows-4e9.npz")}, kExitFailure,
        {"rows-4e9.npz", "latents_classes", "shape"});
    row("truncated JPEG", {"run", kMouse, "--input", path("truncated.jpg"), "--out", path("o.safetensors")}, kExitFailure,
        {"truncated.jpg", "truncated JPEG"});
    row("legacy torch.save as an HF .bin", {"info", path("legacy-bin")}, kExitFailure,
        {"legacy-bin/pytorch_model.bin", "before PyTorch 1.6"});
  }

  void cli() {
    QFETCH(QStringList, args);
    QFETCH(int, exitCode);
    QFETCH(QStringList, needles);
    std::vector<std::string> a;
    for (const auto& s : args) a.push_back(s.toStdString());
    const ChildRun r = runPrisma(a);
    const QByteArray err = QByteArray::fromStdString(r.err);
    QVERIFY2(r.signal == 0, qPrintable(QString("killed by signal %1; stderr: %2").arg(r.signal).arg(QString(err))));
    QVERIFY2(r.code == exitCode, qPrintable(QString("exit %1, expected %2; stderr: %3").arg(r.code).arg(exitCode).arg(QString(err))));
    for (const auto& n : needles)
      QVERIFY2(err.contains(n.toUtf8()), qPrintable("stderr does not say '" + n + "': " + QString(err)));
    QVERIFY2(r.seconds < kMaxSeconds, qPrintable(QString("took %1 s").arg(r.seconds)));
    QVERIFY2(r.maxRssKiB < kMaxRssKiB, qPrintable(QString("peak RSS %1 MiB").arg(r.maxRssKiB / 1024)));
    qInfo("%s: exit %d in %.1f s, peak RSS %ld MiB", QTest::currentDataTag(), r.code, r.seconds, r.maxRssKiB / 1024);
  }

  // The options that lift the limits do lift them: the same truncated JPEG decodes.
  void truncatedJpegAcceptedOnRequest() {
    const ChildRun r = runPrisma({"run", kMouse, "--input", path("truncated.jpg"), "--out", path("accepted.safetensors"),
                                  "--accept-truncated-images"});
    QVERIFY2(r.code == 0, r.err.c_str());
    const ChildRun whole = runPrisma({"run", kMouse, "--input", path("whole.jpg"), "--out", path("whole.safetensors")});
    QVERIFY2(whole.code == 0, whole.err.c_str());
  }

  // --max-memory below what a real (small) model needs refuses it, naming the budget.
  void memoryBudgetRefusesAConfig() {
    const ChildRun r = runPrisma({"info", fixture("hf_vit_classifier"), "--max-memory", "64K"});
    QCOMPARE(r.code, kExitFailure);
    QVERIFY2(r.err.find("memory budget") != std::string::npos && r.err.find("--max-memory") != std::string::npos,
             r.err.c_str());
  }

  // ---- the same inputs through the library calls the explorer's worker makes ----------
  void explorerOpenPaths() {
    const io::LoadedModel mouse = io::loadModel(kMouse);
    expectError([&] { io::loadModel(path("fifo-weights")); }, "model.safetensors", "not a regular file");
    expectError([&] { io::loadModel(path("deep-id2label")); }, "config.json", "nested deeper");
    expectError([&] { io::loadModel(path("vit-huge")); }, "pytorch_model.bin", "stride 0");
    for (const char* image : {"image.fifo", "20000.png", "truncated.jpg"}) {
      try {
        io::loadInput(path(image), mouse);
        QFAIL(qPrintable(QString("no error for ") + image));
      } catch (const std::exception& e) {
        QVERIFY2(std::string(e.what()).find(image) != std::string::npos, e.what());
      }
    }
  }

  // ---- JSON: one entry point, every kind of file ----------------------------------------
  void jsonDepthLimitIsExact() {
    QCOMPARE(parseJson(deepJson(kMaxJsonDepth), "ok.json").is_object(), true);  // 64 levels: fine
    std::string path = "a";
    for (int i = 1; i < kMaxJsonDepth; ++i) path += ".a";
    expectError([&] { parseJson(deepJson(kMaxJsonDepth + 1), "deep.json"); }, "deep.json",
                "'" + path + "': values nested deeper than 64");
  }

  void jsonErrorsNameThePath_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("needle");
    QTest::newRow("syntax inside a list") << R"({"model": {"mean": [0.5, 0.5, oops]}})" << "'model.mean[2]': is not valid JSON";
    QTest::newRow("deep list") << QString::fromStdString(std::string(100, '[') + std::string(100, ']')) << "'[0][0]";
    QTest::newRow("truncated") << R"({"a": {"b": )" << "'a.b': is not valid JSON";
  }
  void jsonErrorsNameThePath() {
    QFETCH(QString, text);
    QFETCH(QString, needle);
    expectError([&] { parseJson(text.toStdString(), "cfg.json"); }, "cfg.json", needle.toStdString());
  }

  void jsonFilesAreCheckedBeforeReading() {
    expectError([&] { readJsonFile(path("image.fifo")); }, "image.fifo", "not a regular file");
    JsonLimits small;
    small.max_bytes = 16;
    writeText(path("big.json"), R"({"a": "0123456789abcdef"})");
    expectError([&] { readJsonFile(path("big.json"), small); }, "big.json", "more than the limit");
    JsonLimits strict;
    strict.reject_duplicate_keys = true;
    expectError([&] { parseJson(R"({"x": {"k": 1, "k": 2}})", "dup.json", strict); }, "dup.json", "'x.k': appears twice");
  }

  void deepJsonInEveryConfigKind() {
    const std::string deep = deepJson(kDeepLevels);
    writeText(path("deep-preset.json"), "{\"model\": " + deep + "}");
    expectError([&] { train::loadPresetJson(path("deep-preset.json")); }, "deep-preset.json", "'model.a.a");
    fs::create_directories(path("deep-checkpoint"));
    writeText(path("deep-checkpoint/") + train::kTrainingStateFile, deep);
    expectError([&] { train::readTrainingState(path("deep-checkpoint")); }, train::kTrainingStateFile, "nested deeper");
    writeText(path("deep-zoo.json"), "{\"format\": " + deep + "}");
    expectError([&] { zoo::readZooManifest(path("deep-zoo.json")); }, "deep-zoo.json", "nested deeper");
  }

  // ---- numbers ---------------------------------------------------------------------------
  void numbersParseStrictly() {
    QCOMPARE(parseInteger("42").value(), int64_t(42));
    QVERIFY(!parseInteger("99999999999999999999"));
    QVERIFY(!parseInteger("4x"));
    QVERIFY(!parseInteger(" 4"));
    QVERIFY(!parseInteger(""));
    QVERIFY(!parseReal("nan"));
    QVERIFY(!parseReal("1e400"));
    QCOMPARE(parseReal("1e-3").value(), 1e-3);
    QCOMPARE(parseByteSize("4G").value(), uint64_t(4) << 30);
    QCOMPARE(parseByteSize("1.5K").value(), uint64_t(1536));
    QVERIFY(!parseByteSize("0"));
    QVERIFY(!parseByteSize("-1G"));
    QCOMPARE(QString::fromStdString(integerProblem("99999999999999999999", 0, 10)), QString("does not fit (0 to 10)"));
  }

  // ---- image headers ---------------------------------------------------------------------
  void imageHeadersAreReadWithoutDecoding() {
    const std::string png = forgedPng(20000, 12000);
    const auto h = datasets::readImageHeader(reinterpret_cast<const unsigned char*>(png.data()), png.size());
    QVERIFY(h.has_value());
    QCOMPARE(h->width, uint64_t(20000));
    QCOMPARE(h->height, uint64_t(12000));
    const std::string jpeg = readText(path("whole.jpg"));
    const auto j = datasets::readImageHeader(reinterpret_cast<const unsigned char*>(jpeg.data()), jpeg.size());
    QVERIFY(j.has_value());
    QCOMPARE(j->format, std::string("jpeg"));
    QCOMPARE(j->width, uint64_t(64));
    QVERIFY(datasets::jpegComplete(reinterpret_cast<const unsigned char*>(jpeg.data()), jpeg.size()));
    const std::string cut = readText(path("truncated.jpg"));
    QVERIFY(!datasets::jpegComplete(reinterpret_cast<const unsigned char*>(cut.data()), cut.size()));
    // fuzz_image_reader's first finding: a 30-byte WebP VP8X header read one byte past
    // the buffer (AddressSanitizer); the canvas size is 24-bit little-endian.
    const std::string vp8x("RIFF\x16WEBWEBPVP8XEB\x09\x03\x00\x00\xffG\xb6mU\x00\x00\x8e", 30);
    const auto w = datasets::readImageHeader(reinterpret_cast<const unsigned char*>(vp8x.data()), vp8x.size());
    QVERIFY(w.has_value());
    QCOMPARE(w->width, uint64_t(0x556db7));
    QCOMPARE(w->height, uint64_t(0x8e0001));
    // Its second: 133 bytes OpenCV handed to its DICOM reader (GDCM), which aborted the
    // process. Formats without a header readImageHeader reads are now never decoded.
    const std::string dicom(
        "\x4d\x50\x31\x30\x30\x30\x30\x30\x30\x30\x30\x30\x4d\x00\x2a\x00\x00\x00\x00\x00\x13\x13\x13\x13"
        "\x13\x13\x13\x13\x09\x13\x13\x13\x13\x13\x13\x13\x13\x13\x00\x00\x03\x00\x00\x50\x30\x35\x31\x03"
        "\x00\x00\x50\x30\x35\x30\x30\x21\x00\x00\x00\x00\x40\x00\x00\x03\x00\x00\x00\x00\x00\x30\x30\x30"
        "\x30\x30\x13\x13\x13\x13\x13\x13\x13\x13\x13\x13\x13\x13\x13\x13\x13\x13\x13\x00\x00\x03\x00\x00"
        "\x50\x30\x35\x30\x30\x21\x00\x00\x00\x00\x30\xf1\x30\x30\x30\x30\x30\x30\x31\x33\x38\x37\x35\x39"
        "\x36\x34\x35\xff\x35\x35\x33\x30\x44\x49\x43\x4d\x35",
        133);
    writeText(path("gdcm-abort.img"), dicom);
    try {
      datasets::readImage(path("gdcm-abort.img"));
      QFAIL("decoded a file of no supported format");
    } catch (const std::runtime_error& e) {
      QVERIFY2(std::string(e.what()).find("not an image in a supported format") != std::string::npos, e.what());
    }
  }
};

QTEST_GUILESS_MAIN(TestHostileInputs)
#include "tst_hostile_inputs.moc"
