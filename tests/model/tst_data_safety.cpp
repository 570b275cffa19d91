// Never lose or silently corrupt the user's data: outputs on a full disk fail
// and leave no file (the CSV, PNG and safetensors writers of patch / attention / lens /
// run), an output over an input is refused before anything is written (convert D D and
// its kin), NaN weights are noted on loading and NaN results exit non-zero unless
// --allow-nan, and safetensors files whose ranges overlap behind an empty tensor, or whose
// float weights are labelled as integers, are refused.
//
// A full disk is made two ways: a small tmpfs filled to the brim, mounted in a user and
// mount namespace (`unshare -rm`; skipped where the kernel does not allow it), and a file
// size limit of 0 bytes (RLIMIT_FSIZE with SIGXFSZ ignored: every write then fails with
// EFBIG as a full disk fails with ENOSPC), which works everywhere.

#include "CliProcess.h"
#include "ExpectError.h"
#include "TestUtil.h"

#include "model/Error.h"
#include "model/io/AtomicFile.h"
#include "model/io/ModelLoader.h"
#include "model/io/OutputPaths.h"
#include "model/io/SafeTensors.h"
#include "model/vit/StateDict.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QCryptographicHash>
#include <QDir>
#include <QDirIterator>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sys/resource.h>

using namespace prisma;
using prisma::test::expectError;
using prisma::test::fixture;
namespace fs = std::filesystem;

namespace {

constexpr int kTimeoutMs = 180000;
constexpr int kExitFailure = 1;
constexpr int kMountRefused = 97;  // the tmpfs script's code when mount is not allowed
constexpr const char* kFullDisk = "FULLDISK";  // replaced by the full folder in arguments
constexpr const char* kListingMarker = "@@listing";
constexpr const char* kMouse = "mouse:induction-2L";  // 32x32, 1 channel, 4 classes

std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void writeText(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// Every file under `dir` with a hash of its bytes: equal snapshots mean nothing changed.
QMap<QString, QByteArray> snapshot(const QString& dir) {
  QMap<QString, QByteArray> files;
  QDirIterator it(dir, QDir::Files | QDir::Dirs | QDir::Hidden | QDir::NoDotAndDotDot, QDirIterator::Subdirectories);
  while (it.hasNext()) {
    const QString path = it.next();
    QFile f(path);
    QByteArray hash = "dir";
    if (f.open(QIODevice::ReadOnly)) hash = QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256);
    files[QDir(dir).relativeFilePath(path)] = hash;
  }
  return files;
}

// Runs the test body with this process's file size limit at `limit` bytes and SIGXFSZ
// ignored, then restores both.
template <typename Fn>
void withFileSizeLimit(rlim_t limit, Fn&& fn) {
  rlimit before{};
  ::getrlimit(RLIMIT_FSIZE, &before);
  auto previous = std::signal(SIGXFSZ, SIG_IGN);
  rlimit low = before;
  low.rlim_cur = limit;
  ::setrlimit(RLIMIT_FSIZE, &low);
  try {
    fn();
  } catch (...) {
    ::setrlimit(RLIMIT_FSIZE, &before);
    std::signal(SIGXFSZ, previous);
    throw;
  }
  ::setrlimit(RLIMIT_FSIZE, &before);
  std::signal(SIGXFSZ, previous);
}

// A header-only safetensors file from JSON entries, with `dataBytes` zero bytes after it.
void writeRawSafeTensors(const std::string& path, const nlohmann::json& header, size_t dataBytes) {
  const std::string h = header.dump();
  std::string bytes(8, '\0');
  for (size_t i = 0; i < 8; ++i) bytes[i] = static_cast<char>((h.size() >> (8 * i)) & 0xFF);
  writeText(path, bytes + h + std::string(dataBytes, '\0'));
}

}  // namespace

class TestDataSafety : public QObject {
  Q_OBJECT

private:
  QTemporaryDir tmp_;
  QString mouseDir_;   // the mouse in the project's format, a folder we may write beside
  QString nanDir_;     // the same with NaN and Inf in two weights
  QString input_;      // FILE.safetensors:pixels, two images for the mouse
  QString inputFile_;

  using Result = prisma::test::CliResult;
  Result prisma(const QStringList& args) { return prisma::test::runPrisma(args, {kTimeoutMs, true}); }

  static QStringList substituted(const QStringList& args, const QString& dir) {
    QStringList out;
    for (const auto& a : args) out << QString(a).replace(kFullDisk, dir);
    return out;
  }

  // `prisma args` with FULLDISK standing for a folder where every write fails for want of
  // space; `listing` gets what that folder holds afterwards.
  Result runOnFullDisk(const QString& way, const QStringList& args, QStringList* listing) {
    static int n = 0;
    const QString dir = tmp_.filePath(QStringLiteral("full-%1-%2").arg(way).arg(++n));
    QDir().mkpath(dir);
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("PRISMA_NO_BLAS_REEXEC"), QStringLiteral("1"));
    p.setProcessEnvironment(env);
    if (way == "fsize") {
      p.setChildProcessModifier([] {
        std::signal(SIGXFSZ, SIG_IGN);  // inherited through exec: writes fail instead of killing
        rlimit r{};
        ::getrlimit(RLIMIT_FSIZE, &r);
        r.rlim_cur = 0;
        ::setrlimit(RLIMIT_FSIZE, &r);
      });
      p.start(QStringLiteral(PRISMA_CLI_PATH), substituted(args, dir));
    } else {
      // A 64 KiB tmpfs filled by dd, private to this process tree; the listing is printed
      // from inside, since the mount ends with the namespace.
      const QString script = QStringLiteral(
          "dir=$1; shift; mount -t tmpfs -o size=64k prisma-full \"$dir\" || exit %1; "
          "dd if=/dev/zero of=\"$dir/filler\" bs=4k >/dev/null 2>&1; "
          "\"$@\"; rc=$?; echo %2; ls -A \"$dir\"; exit $rc").arg(kMountRefused).arg(kListingMarker);
      p.start(QStringLiteral("unshare"), QStringList{"-rm", "sh", "-c", script, "sh", dir, PRISMA_CLI_PATH} +
                                             substituted(args, dir));
    }
    Result r;
    if (!p.waitForFinished(kTimeoutMs)) {
      p.kill();
      p.waitForFinished();
      return r;
    }
    r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : Result::kCrashed;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    if (way == "fsize") {
      *listing = QDir(dir).entryList(QDir::Files | QDir::Dirs | QDir::Hidden | QDir::NoDotAndDotDot);
    } else {
      const int at = r.out.indexOf(kListingMarker);
      *listing = at < 0 ? QStringList{} : r.out.mid(at + int(strlen(kListingMarker))).split('\n', Qt::SkipEmptyParts);
      listing->removeAll(QStringLiteral("filler"));
    }
    return r;
  }

  bool tmpfsAvailable() {
    if (QStandardPaths::findExecutable("unshare").isEmpty()) return false;
    const QString dir = tmp_.filePath(QStringLiteral("probe"));
    QDir().mkpath(dir);
    QProcess p;
    p.start(QStringLiteral("unshare"), {"-rm", "sh", "-c", "mount -t tmpfs -o size=64k prisma-probe \"$1\"", "sh", dir});
    return p.waitForFinished(kTimeoutMs) && p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
  }

private slots:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    io::LoadedModel m = io::loadModel(kMouse);
    mouseDir_ = tmp_.filePath(QStringLiteral("mouse"));
    io::saveModel(m, mouseDir_.toStdString());

    // Two weights broken: one NaN, one +Inf.
    {
      torch::NoGradGuard no_grad;
      auto params = m.model->named_parameters();
      params["blocks.0.attn.W_Q"].view({-1})[3] = std::numeric_limits<float>::quiet_NaN();
      params["head.b_H"][1] = std::numeric_limits<float>::infinity();
    }
    nanDir_ = tmp_.filePath(QStringLiteral("mouse-nan"));
    io::saveModel(m, nanDir_.toStdString());

    inputFile_ = tmp_.filePath(QStringLiteral("inputs.safetensors"));
    io::writeSafeTensors(inputFile_.toStdString(),
                         {{"pixels", torch::randn({2, 1, 32, 32}, at::detail::createCPUGenerator(1))}});
    input_ = inputFile_ + ":pixels";
  }

  // ---- outputs on a full disk ------------------------------------------------------------

  void atomicWriterOnFullDiskKeepsThePreviousFile() {
    const std::string path = tmp_.filePath(QStringLiteral("keep.txt")).toStdString();
    io::writeTextAtomically(path, "old contents\n");
    withFileSizeLimit(0, [&] {
      expectError([&] { io::writeTextAtomically(path, "new contents that do not fit\n"); }, path, "write failed");
    });
    QCOMPARE(readText(path), std::string("old contents\n"));
    QStringList left = QDir(tmp_.path()).entryList({"keep.txt*"}, QDir::Files | QDir::Hidden);
    QCOMPARE(left, QStringList{"keep.txt"});  // no temporary file left behind
  }

  void appendFileCutsATornRecord() {
    const std::string path = tmp_.filePath(QStringLiteral("log.csv")).toStdString();
    {
      io::AppendFile log(path, true);
      log.append("step,value\n0,1.5\n");
      const rlim_t room = readText(path).size() + 4;  // the next row fits only in part
      withFileSizeLimit(room, [&] { expectError([&] { log.append("1,2.25\n"); }, path, "write failed"); });
      log.append("1,2.25\n");  // room again: the log goes on without a torn row before it
    }
    QCOMPARE(readText(path), std::string("step,value\n0,1.5\n1,2.25\n"));
  }

  void resultsOnFullDiskFailAndLeaveNoFile_data() {
    QTest::addColumn<QString>("way");
    QTest::addColumn<QStringList>("args");
    const QString mouse = QString::fromStdString(kMouse);
    const QStringList pair{"--clean", "INPUT:0", "--corrupt", "INPUT:1"};
    const QList<QPair<QString, QStringList>> commands{
        {"patch csv", QStringList{"patch", mouse} + pair + QStringList{"--component", "resid_pre", "--out", "FULLDISK/p.csv"}},
        {"patch safetensors",
         QStringList{"patch", mouse} + pair + QStringList{"--component", "resid_pre", "--out", "FULLDISK/p.safetensors"}},
        {"attention csv", {"attention", mouse, "--image", "INPUT:0", "--rollout", "--out", "FULLDISK/a.csv"}},
        {"attention png", {"attention", mouse, "--image", "INPUT:0", "--rollout", "--png", "FULLDISK/a.png"}},
        {"lens csv", {"lens", mouse, "--image", "INPUT", "--out", "FULLDISK/l.csv"}},
        {"run safetensors", {"run", mouse, "--input", "INPUT", "--out", "FULLDISK/r.safetensors"}},
    };
    for (const char* way : {"fsize", "tmpfs"})
      for (const auto& [name, args] : commands) QTest::newRow(qPrintable(name + " " + way)) << way << args;
  }

  // The case that once failed: `prisma patch ... --out FULLDISK/p.csv` exited 0 with a 0-byte file.
  void resultsOnFullDiskFailAndLeaveNoFile() {
    QFETCH(QString, way);
    QFETCH(QStringList, args);
    if (way == "tmpfs" && !tmpfsAvailable()) QSKIP("no user mount namespaces here (unshare -rm + mount tmpfs)");
    QStringList withInput;
    for (const auto& a : args) withInput << QString(a).replace("INPUT", input_);
    QStringList listing;
    const Result r = runOnFullDisk(way, withInput, &listing);
    QVERIFY2(r.code != kMountRefused, qPrintable(r.err));
    QVERIFY2(r.code == kExitFailure, qPrintable(QStringLiteral("exit %1: %2").arg(r.code).arg(r.err)));
    QVERIFY2(r.err.contains("write failed"), qPrintable(r.err));
    QVERIFY2(listing.isEmpty(), qPrintable("left behind: " + listing.join(", ")));
  }

  // ---- outputs over inputs ------------------------------------------------------------------

  void outputOverInputIsRefused_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("needle");
    // HF stands for a copy of the Hugging Face fixture folder, M for the mouse folder.
    QTest::newRow("convert HF HF") << QStringList{"convert", "HF", "HF"} << "is the input";
    QTest::newRow("convert HF HF/") << QStringList{"convert", "HF", "HF/"} << "is the input";
    QTest::newRow("convert HF/model.safetensors HF")
        << QStringList{"convert", "HF/model.safetensors", "HF"} << "holds the input";
    QTest::newRow("convert HF HF/sub") << QStringList{"convert", "HF", "HF/sub"} << "inside the input folder";
    QTest::newRow("convert HF/../hf HF") << QStringList{"convert", "HF/../hf", "HF"} << "is the input";
    QTest::newRow("convert HF/model.safetensors HF/..")
        << QStringList{"convert", "HF/model.safetensors", "HF/.."} << "holds the input";
    QTest::newRow("export HF HF") << QStringList{"export", "HF", "HF", "--format", "timm"} << "is the input";
    QTest::newRow("export M M/hf") << QStringList{"export", "M", "M/hf", "--format", "hf"} << "inside the input folder";
    QTest::newRow("run M into M") << QStringList{"run", "M", "--input", "INPUT", "--out", "M/model.safetensors"}
                                  << "inside the input folder";
    QTest::newRow("run over its input")
        << QStringList{"run", "M", "--input", "INPUT", "--out", "INPUTFILE"} << "is the input";
    QTest::newRow("lens over its input") << QStringList{"lens", "M", "--image", "INPUT", "--out", "INPUTFILE"}
                                         << "is the input";
    QTest::newRow("patch into M") << QStringList{"patch",     "M",          "--clean", "INPUT:0", "--corrupt",
                                                 "INPUT:1",   "--component", "resid_pre", "--out", "M/p.csv"}
                                  << "inside the input folder";
    QTest::newRow("attention png into M")
        << QStringList{"attention", "M", "--image", "INPUT:0", "--rollout", "--png", "M/a.png"} << "inside the input folder";
    QTest::newRow("train --from M --out M")
        << QStringList{"train", "--preset", "induction", "--from", "M", "--out", "M", "--max-steps", "1"} << "is the input";
  }

  void outputOverInputIsRefused() {
    QFETCH(QStringList, args);
    QFETCH(QString, needle);
    const QString hf = tmp_.filePath(QStringLiteral("hf"));
    if (!QDir(hf).exists()) {
      fs::create_directories(hf.toStdString());
      for (const char* f : {"config.json", "model.safetensors"}) {
        fs::copy_file(fixture(std::string("hf_vit_classifier/") + f), (fs::path(hf.toStdString()) / f));
        fs::permissions(fs::path(hf.toStdString()) / f, fs::perms::owner_write, fs::perm_options::add);
      }
    }
    QStringList real;
    for (const auto& a : args) {
      QString s = a;
      if (s == "HF" || s.startsWith("HF/")) s.replace(0, 2, hf);
      else if (s == "M" || s.startsWith("M/")) s.replace(0, 1, mouseDir_);
      else if (s == "INPUTFILE") s = inputFile_;
      else s.replace("INPUT", input_);
      real << s;
    }
    const auto before = snapshot(hf), beforeMouse = snapshot(mouseDir_), beforeTmp = snapshot(tmp_.path());
    const Result r = prisma(real);
    QVERIFY2(r.code == kExitFailure, qPrintable(QStringLiteral("exit %1: %2").arg(r.code).arg(r.err + r.out)));
    QVERIFY2(r.err.contains(needle), qPrintable(r.err));
    QCOMPARE(snapshot(hf), before);
    QCOMPARE(snapshot(mouseDir_), beforeMouse);
    QCOMPARE(snapshot(tmp_.path()), beforeTmp);  // nothing written anywhere, no sub-folder made
  }

  void outputBesideInputIsFine() {
    const std::string out = tmp_.filePath(QStringLiteral("converted")).toStdString();
    io::refuseOutputOverInputs(out, io::OutputKind::Folder, io::modelInputPaths(mouseDir_.toStdString()));
    io::refuseOutputOverInputs(tmp_.filePath("r.safetensors").toStdString(), io::OutputKind::File,
                               {mouseDir_.toStdString(), io::inputSpecPath(input_.toStdString())});
    QCOMPARE(io::inputSpecPath(input_.toStdString() + ":1"), inputFile_.toStdString());
    // A symbolic link to the model folder is the model folder.
    const std::string link = tmp_.filePath(QStringLiteral("mouse-link")).toStdString();
    fs::create_directory_symlink(mouseDir_.toStdString(), link);
    expectError([&] { io::refuseOutputOverInputs(link, io::OutputKind::Folder, {mouseDir_.toStdString()}); }, link,
                "is the input");
  }

  // ---- non-finite values ------------------------------------------------------------------

  void nanWeightsAreNotedOnLoading() {
    const io::LoadedModel m = io::loadModel(nanDir_.toStdString());
    bool noted = false;
    for (const auto& n : m.notes)
      if (n.find("non-finite") != std::string::npos && n.find("blocks.0.attn.W_Q") != std::string::npos &&
          n.find("head.b_H") != std::string::npos && n.find("1 NaN, 1 infinite") != std::string::npos)
        noted = true;
    QVERIFY2(noted, m.notes.empty() ? "no notes" : m.notes.back().c_str());
    for (const auto& n : io::loadModel(mouseDir_.toStdString()).notes)
      QVERIFY2(n.find("non-finite") == std::string::npos, n.c_str());
    const Result info = prisma({"info", nanDir_});
    QVERIFY2(info.code == 0 && info.out.contains("non-finite"), qPrintable(info.out + info.err));
  }

  void nanResultsExitNonZeroUnlessAllowed_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("out");
    QTest::newRow("run") << QStringList{"run", "NAN", "--input", "INPUT", "--out", "OUT"} << "run.safetensors";
    QTest::newRow("lens") << QStringList{"lens", "NAN", "--image", "INPUT", "--out", "OUT"} << "lens.csv";
    QTest::newRow("patch") << QStringList{"patch", "NAN", "--clean", "INPUT:0", "--corrupt", "INPUT:1",
                                          "--component", "resid_pre", "--out", "OUT"}
                           << "patch.csv";
    QTest::newRow("attention") << QStringList{"attention", "NAN", "--image", "INPUT:0", "--layer", "0", "--head", "0",
                                              "--out", "OUT"}
                               << "attention.safetensors";
    QTest::newRow("convert") << QStringList{"convert", "NAN", "OUT"} << "converted-nan";
  }

  void nanResultsExitNonZeroUnlessAllowed() {
    QFETCH(QStringList, args);
    QFETCH(QString, out);
    const QString path = tmp_.filePath(out);
    QStringList real;
    for (const auto& a : args) real << (a == "NAN" ? nanDir_ : a == "OUT" ? path : QString(a).replace("INPUT", input_));
    const Result refused = prisma(real);
    QVERIFY2(refused.code == kExitFailure, qPrintable(QStringLiteral("exit %1: %2").arg(refused.code).arg(refused.err)));
    QVERIFY2(refused.err.contains("non-finite") && refused.err.contains("--allow-nan"), qPrintable(refused.err));
    QVERIFY(!QFileInfo::exists(path));
    const Result allowed = prisma(real + QStringList{"--allow-nan"});
    QVERIFY2(allowed.code == 0, qPrintable(allowed.err));
    QVERIFY2(allowed.err.contains("warning") && allowed.err.contains("non-finite"), qPrintable(allowed.err));
    QVERIFY(QFileInfo::exists(path));
  }

  // ---- safetensors --------------------------------------------------------------------------

  // An empty tensor between two overlapping ranges used to hide the overlap: each range
  // was compared with its sorted neighbour only, and empty neighbours were skipped.
  void overlapBehindAnEmptyTensorIsRefused() {
    const std::string path = tmp_.filePath(QStringLiteral("overlap.safetensors")).toStdString();
    writeRawSafeTensors(path,
                        {{"a", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {0, 16}}}},
                         {"b_empty", {{"dtype", "F32"}, {"shape", {0}}, {"data_offsets", {4, 4}}}},
                         {"c", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {8, 24}}}}},
                        24);
    expectError([&] { io::SafeTensorsFile st(path); }, path, "overlaps tensor 'a'");
    // Empty tensors anywhere, and ranges that touch, are fine.
    writeRawSafeTensors(path,
                        {{"a", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {0, 16}}}},
                         {"b_empty", {{"dtype", "F32"}, {"shape", {0}}, {"data_offsets", {4, 4}}}},
                         {"c", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {16, 24}}}}},
                        24);
    QCOMPARE(io::SafeTensorsFile(path).names().size(), size_t(3));
  }

  // Float bytes labelled I32 have the right byte count and used to be converted value by
  // value into garbage weights.
  void floatWeightLabelledIntegerIsRefused() {
    const std::string dir = tmp_.filePath(QStringLiteral("mouse-i32")).toStdString();
    fs::create_directories(dir);
    fs::copy_file(fs::path(mouseDir_.toStdString()) / "config.json", fs::path(dir) / "config.json");
    io::SafeTensorsFile good((fs::path(mouseDir_.toStdString()) / "model.safetensors").string());
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& name : good.names()) tensors[name] = good.tensor(name).clone();
    tensors["head.W_H"] = tensors["head.W_H"].view(torch::kInt32);  // same bytes, labelled I32
    const std::string weights = (fs::path(dir) / "model.safetensors").string();
    io::writeSafeTensors(weights, tensors);
    io::SafeTensorsFile relabelled(weights);
    QCOMPARE(relabelled.entry("head.W_H").dtype, std::string("I32"));
    expectError([&] { relabelled.float_tensor("head.W_H"); }, "head.W_H", "stored as I32");
    expectError([&] { io::loadModel(dir); }, weights, "floating-point");
    QVERIFY(relabelled.tensor("head.W_H").scalar_type() == torch::kInt32);  // raw access still works
  }
};

QTEST_GUILESS_MAIN(TestDataSafety)
#include "tst_data_safety.moc"
