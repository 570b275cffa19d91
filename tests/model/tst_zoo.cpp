// The mice zoo: every shipped mouse opens by its `mouse:` name and reproduces the test
// accuracy stored in its metrics.json when re-evaluated on the whole test split (through
// the library; the Induction 2-layer mouse through `prisma eval` too), the two headline
// mice (Induction 2L, MNIST 4L) reach their bars, the manifest resolves, and the shipped folder stays small.
// `prisma zoo build` runs end to end on a one-mouse manifest of a tiny mouse. The rest is
// forward passes: the full test splits of every mouse take well under a minute of CPU.

#include "CliProcess.h"
#include "RequireData.h"

#include "datasets/DatasetRegistry.h"
#include "model/Error.h"
#include "model/io/ModelLoader.h"
#include "model/io/ResourcePaths.h"
#include "model/io/SafeTensors.h"
#include "model/train/Checkpoint.h"
#include "model/train/TrainConfig.h"
#include "model/zoo/MouseEvaluation.h"
#include "model/zoo/ZooBuilder.h"
#include "model/zoo/ZooManifest.h"

#include <nlohmann/json.hpp>

#include <torch/torch.h>

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

namespace fs = std::filesystem;

namespace {

// The bars the zoo promises for its two headline mice (README, ViT mice zoo).
constexpr double kInduction2LBar = 0.99;
constexpr double kMnist4LBar = 0.97;
// resources/mice must stay a reasonable download. The 37 mice at the original width
// (d_model 128) hold ~11.7 M parameters: ~22 MB as shipped, the zoo using narrower storage only
// where the test accuracy is unchanged (int8 blocks for most mice, float16 for the rest, a few
// need float32). The checkpoint series are what make it large: issue 20 asks one for every
// mouse (8 log-spaced int8 checkpoints each), 102 MB, so the folder is 121 MiB. This budget
// guards against growth beyond that (README, ViT mice zoo).
constexpr uintmax_t kMaxMiceBytes = uintmax_t(128) << 20;

int64_t hits(double accuracy, int64_t count) { return std::llround(accuracy * double(count)); }

bool shipped(const std::string& name) {
  const auto mice = prisma::io::listMice();
  return std::find(mice.begin(), mice.end(), name) != mice.end();
}

bool datasetAvailable(const std::string& name) {
  try {
    prisma::datasets::makeDataset(name);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

class TestZoo : public QObject {
  Q_OBJECT

private slots:
  void initTestCase() {
    // One thread: the test processes do not re-exec with OMP_WAIT_POLICY=PASSIVE, and
    // spinning OpenMP workers only burn the shared cores on these small forwards.
    at::set_num_threads(1);
    QVERIFY2(!prisma::io::listMice().empty(), "no mice shipped in resources/mice");
  }

  void everyMouseReproducesItsAccuracy_data() {
    QTest::addColumn<QString>("name");
    for (const auto& m : prisma::io::listMice()) QTest::newRow(m.c_str()) << QString::fromStdString(m);
  }

  void everyMouseReproducesItsAccuracy() {
    QFETCH(QString, name);
    const auto loaded = prisma::io::loadModel("mouse:" + name.toStdString());
    QCOMPARE(loaded.model->parameters().front().scalar_type(), torch::kFloat32);  // int8 / float16 files load as float32
    const nlohmann::json metrics = prisma::zoo::readMouseMetrics(loaded.source);
    QVERIFY2(metrics.is_object(), "the mouse has no metrics.json");
    const auto data = prisma::zoo::evalDatasetFromJson(metrics.at("dataset"), loaded.source);
    if (!datasetAvailable(data.name))
      PRISMA_SKIP_WITHOUT_DATA(QString::fromStdString(data.name + " data not available (scripts/fetch-data.sh)"));
    const auto t0 = std::chrono::steady_clock::now();
    const auto m = prisma::zoo::evaluateModel(loaded, data, prisma::train::Part::Test);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double stored = metrics.at("test").at("accuracy").get<double>();
    const int64_t count = metrics.at("test").at("items").get<int64_t>();
    qInfo("%s: test acc %.4f (stored %.4f), top-5 %.4f, %lld items, %.1f s", qPrintable(name), m.top1, stored, m.top5,
          static_cast<long long>(m.count), s);
    QCOMPARE(m.count, count);
    QCOMPARE(hits(m.top1, m.count), hits(stored, count));
    QCOMPARE(hits(m.top5, m.count), hits(metrics.at("test").at("top5").get<double>(), count));
    // Narrower storage (int8, float16) is only used when it keeps the float32 figures exactly.
    QCOMPARE(hits(metrics.at("test_float32").at("accuracy").get<double>(), count), hits(stored, count));
    QCOMPARE(hits(metrics.at("test_float32").at("top5").get<double>(), count),
             hits(metrics.at("test").at("top5").get<double>(), count));
  }

  void mustReachMice_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("dataset");
    QTest::addColumn<double>("bar");
    QTest::newRow("induction-2L") << "induction-2L" << "induction" << kInduction2LBar;
    QTest::newRow("mnist-4L") << "mnist-4L" << "mnist" << kMnist4LBar;
  }

  // The stored figures are re-measured above; here the bar on the stored test accuracy.
  void mustReachMice() {
    QFETCH(QString, name);
    QFETCH(QString, dataset);
    QFETCH(double, bar);
    QVERIFY2(shipped(name.toStdString()), qPrintable(name + " is not shipped"));
    const auto dir = prisma::io::mouseDirectory(name.toStdString());
    const nlohmann::json metrics = prisma::zoo::readMouseMetrics(dir);
    QCOMPARE(QString::fromStdString(metrics.at("dataset").at("name").get<std::string>()), dataset);
    QCOMPARE(metrics.at("test").at("items").get<int64_t>() > 0, true);
    const double acc = metrics.at("test").at("accuracy").get<double>();
    QVERIFY2(acc >= bar, qPrintable(QString("%1: %2 < %3").arg(name).arg(acc).arg(bar)));
  }

  void evalCommandPrintsTheStoredAccuracy() {
    QVERIFY2(shipped("induction-2L"), "induction-2L is not shipped");
    const auto dir = prisma::io::mouseDirectory("induction-2L");
    const nlohmann::json metrics = prisma::zoo::readMouseMetrics(dir);
    const auto r = prisma::test::runPrisma({"eval", "mouse:induction-2L", "--dataset", "induction", "--split", "test"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const QString expected = QString("accuracy: %1 (%2 / %3)")
                                 .arg(metrics.at("test").at("accuracy").get<double>(), 0, 'f', 4)
                                 .arg(hits(metrics.at("test").at("accuracy").get<double>(), metrics.at("test").at("items").get<int64_t>()))
                                 .arg(metrics.at("test").at("items").get<int64_t>());
    QVERIFY2(r.out.contains(expected), qPrintable(r.out));
    QVERIFY2(r.out.contains("top5:     1.0000"), qPrintable(r.out));  // 4 classes: top-5 is trivially 1
  }

  void unknownMouseIsAClearError() {
    try {
      prisma::io::loadModel("mouse:no-such-mouse");
      QFAIL("loaded a mouse that does not exist");
    } catch (const prisma::Error& e) {
      QCOMPARE(QString::fromStdString(e.source()), QString("mouse:no-such-mouse"));
      QVERIFY2(QString(e.what()).contains("induction-2L"), e.what());  // lists the known mice
    }
    bool refused = false;
    try {
      prisma::io::mouseDirectory("mouse:../mice");
    } catch (const prisma::Error&) {
      refused = true;
    }
    QVERIFY2(refused, "a mouse name must not leave the mice folder");
    const auto r = prisma::test::runPrisma({"info", "mouse:no-such-mouse"});
    QVERIFY(r.code != 0 && r.code != prisma::test::CliResult::kCrashed);
    QVERIFY2(r.err.contains("mouse:no-such-mouse"), qPrintable(r.err));
  }

  void manifestCoversTheShippedMice() {
    const auto manifest = prisma::zoo::readZooManifest(prisma::zoo::defaultZooManifestPath());
    for (const auto& e : manifest.entries) {
      const auto cfg = prisma::zoo::entryConfig(e);  // every entry resolves to a valid config
      QCOMPARE(QString::fromStdString(cfg.name), QString::fromStdString(e.name));
    }
    for (const auto& m : prisma::io::listMice()) {
      const auto* e = manifest.find(m);
      QVERIFY2(e, qPrintable(QString::fromStdString(m + " is shipped but not in the manifest")));
      // What was shipped was trained from exactly the manifest's config.
      // Read and written again, so fields added since (at their defaults, which mean what
      // older files meant) compare equal.
      nlohmann::json shipped = prisma::train::trainConfigFromJson(
          prisma::zoo::readMouseMetrics(prisma::io::mouseDirectory(m)).at("config"), m);
      nlohmann::json wanted = prisma::zoo::entryConfig(*e);
      shipped["model"].erase("class_names");
      wanted["model"].erase("class_names");
      QVERIFY2(shipped == wanted, qPrintable(QString::fromStdString(m + ": shipped config differs from zoo.json")));
    }
  }

  // The seed's figures (ViT-Prisma's dSprites table) print beside ours, and a figure that is
  // not an accuracy is refused naming its field.
  void tablesShowTheOriginalsFigure() {
    const auto r = prisma::test::runPrisma({"zoo", "list", "--markdown"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const QStringList lines = r.out.split('\n');
    const auto row = [&](const QString& layers) {
      for (const auto& l : lines)
        if (l.startsWith("| " + layers + " |") && l.contains("`dsprites-" + layers + "L`")) return l;
      return QString();
    };
    QVERIFY2(row("2").contains("; ViT-Prisma 0.996"), qPrintable(row("2")));
    QVERIFY2(row("1").contains("; ViT-Prisma 0.535") && row("1").contains("; ViT-Prisma 0.459"), qPrintable(row("1")));
    for (const auto& l : lines)
      if (l.contains("`mnist-1L`")) QVERIFY2(!l.contains("ViT-Prisma"), qPrintable(l));  // no figure, none shown

    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString path = tmp.filePath("zoo.json");
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(R"({"format": "prisma-zoo", "format_version": 1, "families": [{"name": "x", "preset": "induction",
              "mice": [{"name": "x-1L", "reference_accuracy": 99.6}]}]})");
    f.close();
    QString what;
    try {
      prisma::zoo::readZooManifest(path.toStdString());
    } catch (const prisma::Error& e) {
      what = e.what();
    }
    QVERIFY2(what.contains("zoo.json") && what.contains("mice[0].reference_accuracy"), qPrintable(what));
  }

  void checkpointSeriesAreShortAndLoad() {
    int series = 0;
    for (const auto& m : prisma::io::listMice()) {
      const auto cks = prisma::train::listCheckpoints(prisma::io::mouseDirectory(m));
      if (cks.empty()) continue;
      ++series;
      QVERIFY(cks.size() <= size_t(prisma::zoo::kMaxSeriesCheckpoints));
      QVERIFY(cks.size() >= 2);
      QVERIFY(cks.front().step < cks.back().step);
      const auto first = prisma::io::loadModel(cks.front().path);
      const auto last = prisma::io::loadModel(cks.back().path);
      QCOMPARE(first.model->cfg().n_layers, last.model->cfg().n_layers);
    }
    QVERIFY2(series >= 1, "no mouse ships a checkpoint series");
  }

  // `prisma zoo build` end to end on a one-mouse manifest small enough for a test (a 1-layer,
  // 32-wide Induction mouse, one epoch): every file shipped, a storage that keeps the test
  // figures, the checkpoint series, the finished run reused, a from-scratch rebuild bit for
  // bit the same (one thread), and a run folder of another config refused.
  void zooBuildShipsAndReproduces() {
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    nlohmann::json manifest = {
        {"format", "prisma-zoo"},
        {"format_version", 1},
        {"families",
         {{{"name", "tiny"},
           {"preset", "induction"},
           {"dataset_label", "Induction"},
           {"overrides",
            {{"model.d_model", 32},
             {"model.d_head", nullptr},
             {"model.n_heads", 2},
             {"optimization.epochs", 1},
             {"logging", {{"log_every", 50}, {"eval_batches", 2}, {"checkpoint_every", 0}, {"log_spaced_checkpoints", true}}}}},
           {"reductions", {"32 wide and one epoch: a test, not a mouse."}},
           {"mice", {{{"name", "tiny-1L"}, {"overrides", {{"model.n_layers", 1}}}, {"seed", 3}, {"checkpoint_series", true}}}}}}}};
    const QString manifestPath = tmp.filePath("zoo.json");
    const auto writeManifest = [&] {
      QFile f(manifestPath);
      QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
      f.write(QByteArray::fromStdString(manifest.dump(1)));
    };
    writeManifest();
    const auto build = [&](const char* runs, const char* mice) {
      return prisma::test::runPrisma(
          {"zoo", "build", "--manifest", manifestPath, "--out", tmp.filePath(runs), "--mice", tmp.filePath(mice)});
    };
    const auto bytes = [](const fs::path& p) {
      QFile f(QString::fromStdString(p.string()));
      return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
    };

    auto r = build("runs", "mice");
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const fs::path mouse = fs::path(tmp.filePath("mice").toStdString()) / "tiny-1L";
    for (const char* f : {"config.json", "model.safetensors", "README.md", "metrics.json", "preset.json", "metrics.csv"})
      QVERIFY2(fs::is_regular_file(mouse / f), f);
    QVERIFY(!fs::exists(mouse.parent_path() / ".tiny-1L.building"));  // staged, then swapped in

    const nlohmann::json metrics = prisma::zoo::readMouseMetrics(mouse.string());
    const std::string storage = metrics.at("storage");
    QVERIFY2(storage == "int8" || storage == "float16" || storage == "float32", storage.c_str());
    const int64_t items = metrics.at("test").at("items");
    QCOMPARE(items, int64_t(656));  // the whole Induction test split
    const double stored = metrics.at("test").at("accuracy");
    QCOMPARE(hits(metrics.at("test_float32").at("accuracy"), items), hits(stored, items));
    const auto loaded = prisma::io::loadModel(mouse.string());
    const auto data = prisma::zoo::evalDatasetFromJson(metrics.at("dataset"), mouse.string());
    QCOMPARE(hits(prisma::zoo::evaluateModel(loaded, data, prisma::train::Part::Test).top1, items), hits(stored, items));

    const auto series = prisma::train::listCheckpoints(mouse.string());
    QVERIFY(series.size() >= 2 && series.size() <= size_t(prisma::zoo::kMaxSeriesCheckpoints));
    QCOMPARE(metrics.at("checkpoint_series").size(), series.size());
    QCOMPARE(prisma::io::loadModel(series.back().path).model->cfg().d_model, 32);

    // Up to date: nothing retrained, the same mouse.
    const QByteArray weights = bytes(mouse / "model.safetensors");
    QVERIFY(!weights.isEmpty());
    r = build("runs", "mice");
    QVERIFY2(r.code == 0 && r.err.contains("is up to date"), qPrintable(r.err));
    QCOMPARE(bytes(mouse / "model.safetensors"), weights);

    // From scratch elsewhere: bit for bit the same weights.
    r = build("runs2", "mice2");
    QVERIFY2(r.code == 0 && r.err.contains("training in"), qPrintable(r.err));
    QVERIFY(bytes(fs::path(tmp.filePath("mice2").toStdString()) / "tiny-1L" / "model.safetensors") == weights);

    // The manifest changed under a finished run: refused, naming the run's preset.json.
    manifest["families"][0]["overrides"]["optimization.lr"] = 1e-3;
    writeManifest();
    r = build("runs", "mice");
    QVERIFY(r.code != 0 && r.code != prisma::test::CliResult::kCrashed);
    QVERIFY2(r.err.contains("preset.json") && r.err.contains("another config"), qPrintable(r.err));
    QCOMPARE(bytes(mouse / "model.safetensors"), weights);  // the shipped mouse is untouched

    // A longer run of the same config (step decay: the updates do not depend on the length)
    // continues the finished one, and ends bit for bit where a 2-epoch run from scratch does.
    manifest["families"][0]["overrides"].erase("optimization.lr");
    manifest["families"][0]["overrides"]["optimization.epochs"] = 2;
    writeManifest();
    r = build("runs", "mice");
    QVERIFY2(r.code == 0 && r.err.contains("continuing"), qPrintable(r.err));
    const nlohmann::json longer = prisma::zoo::readMouseMetrics(mouse.string());
    QCOMPARE(longer.at("steps").get<int64_t>(), 2 * metrics.at("steps").get<int64_t>());
    r = build("runs3", "mice3");
    QVERIFY2(r.code == 0 && r.err.contains("training in"), qPrintable(r.err));
    QVERIFY(bytes(fs::path(tmp.filePath("mice3").toStdString()) / "tiny-1L" / "model.safetensors") ==
            bytes(mouse / "model.safetensors"));
    // Killed midway (here: its last checkpoint removed) with an earlier weights file still
    // there: not up to date, resumed, and again the same weights.
    {
      const fs::path run3 = fs::path(tmp.filePath("runs3").toStdString()) / "tiny-1L";
      const auto ran = prisma::train::listCheckpoints(run3.string());
      QVERIFY(ran.size() >= 2);
      fs::remove_all(ran.back().path);
      QVERIFY(fs::is_regular_file(run3 / "model.safetensors"));
      r = build("runs3", "mice3");
      QVERIFY2(r.code == 0 && r.err.contains("resuming"), qPrintable(r.err));
      QVERIFY(bytes(fs::path(tmp.filePath("mice3").toStdString()) / "tiny-1L" / "model.safetensors") ==
              bytes(mouse / "model.safetensors"));
    }
    // Shorter than what was run: refused.
    manifest["families"][0]["overrides"]["optimization.epochs"] = 1;
    writeManifest();
    r = build("runs", "mice");
    QVERIFY(r.code != 0 && r.code != prisma::test::CliResult::kCrashed);
    QVERIFY2(r.err.contains("already longer"), qPrintable(r.err));
  }

  void miceFolderIsSmall() {
    const fs::path root = fs::path(prisma::io::mouseDirectory(prisma::io::listMice().front())).parent_path();
    uintmax_t bytes = 0;
    for (const auto& e : fs::recursive_directory_iterator(root))
      if (e.is_regular_file()) bytes += e.file_size();
    qInfo("resources/mice: %.2f MiB", double(bytes) / double(1 << 20));
    QVERIFY2(bytes <= kMaxMiceBytes, qPrintable(QString::number(bytes)));
  }
};

QTEST_GUILESS_MAIN(TestZoo)
#include "tst_zoo.moc"
