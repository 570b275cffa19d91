// The patching board's state without a window or a model (PatchingPresenter): scripted
// sequences of user actions and backend results, in orders the model thread can produce,
// and what the presenter then shows. A fake backend hands out ids and records requests;
// results are delivered by hand, stale ones included.

#include "app/explorer/patching/PatchingPresenter.h"

#include <QSignalSpy>
#include <QtTest>

#include <cmath>
#include <limits>

using namespace prisma;
using prisma::app::PatchingPresenter;
using Source = prisma::app::PatchingPresenter::Source;
using interp::ComponentKind;

namespace {

constexpr int kLayers = 2, kCols = 3;
constexpr int kCleanTop = 0, kCorruptTop = 3;

struct Request {
  QString type;  // "pair", "preview", "exact", "cell", "region"
  quint64 id = 0;
  app::PatchingSetup setup;
};

class FakeBackend : public app::PatchingBackend {
public:
  QVector<Request> requests;
  QVector<quint64> cancelled;

  quint64 preparePair(const app::ImageRequest&, const app::ImageRequest&) override { return add("pair", {}); }
  quint64 sweep(const app::PatchingSetup& setup, bool exact) override { return add(exact ? "exact" : "preview", setup); }
  quint64 patchCell(const app::PatchingSetup& setup, const QVector<int>&) override { return add("cell", setup); }
  quint64 patchRegion(const app::PatchingSetup& setup, ComponentKind, int, const QVector<int>&) override {
    return add("region", setup);
  }
  void cancel(quint64 id) override { cancelled << id; }

  // The id of the newest request of `type` (back = 0), or of the one before it (back = 1).
  quint64 idOf(const QString& type, int back = 0) const {
    for (int i = requests.size() - 1; i >= 0; --i)
      if (requests[i].type == type && back-- == 0) return requests[i].id;
    return 0;
  }
  const Request* find(quint64 id) const {
    for (const Request& r : requests)
      if (r.id == id) return &r;
    return nullptr;
  }

private:
  quint64 add(const QString& type, const app::PatchingSetup& setup) {
    requests.push_back({type, nextId_, setup});
    return nextId_++;
  }
  quint64 nextId_ = 1;
};

app::PatchingPairInfo pairInfo(std::vector<ComponentKind> components = {ComponentKind::ResidPre, ComponentKind::HeadZ},
                               QVector<int> cleanTop = {kCleanTop, 1}, QVector<int> corruptTop = {kCorruptTop, 0}) {
  app::PatchingPairInfo info;
  info.components = std::move(components);
  info.clean.topkClasses = cleanTop;
  info.corrupt.topkClasses = corruptTop;
  info.classNames = QStringList{"a", "b", "c", "d"};
  info.layers = kLayers;
  return info;
}

// A grid for `setup` with `done` cells filled (the rest NaN).
app::PatchingGrid grid(const app::PatchingSetup& setup, int done, bool attribution, bool stopped = false) {
  app::PatchingGrid g;
  g.component = setup.component;
  g.axes = QStringList{"layer", "pos"};
  g.shape = {kLayers, kCols};
  g.attribution = attribution;
  auto values = std::make_shared<std::vector<float>>(kLayers * kCols, std::numeric_limits<float>::quiet_NaN());
  for (int i = 0; i < done; ++i) (*values)[i] = static_cast<float>(i);
  g.values = values;
  g.done = done;
  g.total = kLayers * kCols;
  g.stopped = stopped;
  return g;
}

app::ModelSummary model(const QString& name) {
  app::ModelSummary m;
  m.name = name;
  m.source = QStringLiteral("/models/") + name;
  return m;
}

// One step of a script: a user action or a backend result ("old" = for the request before
// the newest of its kind, i.e. a stale one).
void play(PatchingPresenter& p, FakeBackend& b, const QString& step) {
  const QStringList w = step.split(' ');
  const QString& verb = w[0];
  const bool old = w.contains(QStringLiteral("old"));
  const quint64 id = b.idOf(verb == QLatin1String("run") ? QStringLiteral("cell") : verb == QLatin1String("grid") || verb == QLatin1String("progress") ? QStringLiteral("exact") : verb, old ? 1 : 0);
  const Request* r = b.find(id);
  const app::PatchingSetup setup = r ? r->setup : p.setup();
  if (verb == QLatin1String("model")) p.setModel(model(w.value(1)));
  else if (verb == QLatin1String("clean")) p.setSource(Source::Clean, app::ImageRequest::file(w.value(1)));
  else if (verb == QLatin1String("corrupt")) p.setSource(Source::Corrupt, app::ImageRequest::file(w.value(1)));
  else if (verb == QLatin1String("swap")) p.swapSources();
  else if (verb == QLatin1String("pair")) p.onPairReady(id, pairInfo());
  else if (verb == QLatin1String("preview")) p.onGridReady(id, grid(setup, kLayers * kCols, true));
  else if (verb == QLatin1String("exact")) p.runExact();
  else if (verb == QLatin1String("progress")) p.onProgress(id, grid(setup, 1, false));
  else if (verb == QLatin1String("grid")) p.onGridReady(id, grid(setup, w.contains("stopped") ? 2 : kLayers * kCols, false, w.contains("stopped")));
  else if (verb == QLatin1String("cancel")) p.cancel();
  else if (verb == QLatin1String("component")) p.setComponent(interp::componentKindFromName(w.value(1).toStdString()));
  else if (verb == QLatin1String("metric")) p.setMetric(interp::metricKindFromName(w.value(1).toStdString()), w.contains("normalized"));
  else if (verb == QLatin1String("cell")) p.patchCell(0, 1);
  else if (verb == QLatin1String("run")) {
    app::PatchedRun run;
    run.requestId = id;
    run.metric = 0.5;
    p.onPatchedRun(id, run);
  } else if (verb == QLatin1String("fail")) p.onFailed(b.idOf(w.value(1)), QStringLiteral("clean.png: not an image"));
  else QFAIL(qPrintable(QStringLiteral("unknown step: ") + step));
}

const QStringList kReady{"model A", "clean x.png", "corrupt y.png", "pair", "preview"};

}  // namespace

class TestPatchingPresenter : public QObject {
  Q_OBJECT

private slots:
  void scripts_data() {
    QTest::addColumn<QStringList>("steps");
    QTest::addColumn<bool>("pairReady");
    QTest::addColumn<bool>("sweepRunning");
    QTest::addColumn<int>("exactDone");  // -1: no exact grid shown
    QTest::addColumn<bool>("previewShown");
    QTest::addColumn<bool>("patchedShown");
    QTest::addColumn<QString>("requests");  // the backend requests, in order
    QTest::addColumn<QString>("status");    // part of the status text

    QTest::newRow("one source: nothing runs") << QStringList{"model A", "clean x.png"} << false << false << -1 << false << false
                                              << QString() << "Drop a clean and a corrupted image";
    QTest::newRow("no model: nothing runs") << QStringList{"clean x.png", "corrupt y.png"} << false << false << -1 << false
                                            << false << QString() << "Open a model";
    QTest::newRow("ready: the preview runs at once") << kReady << true << false << -1 << true << false << "pair preview"
                                                     << "Preview ready";
    QTest::newRow("a pair of replaced sources is dropped")
        << QStringList{"model A", "clean x.png", "corrupt y.png", "corrupt z.png", "pair old"} << false << false << -1 << false
        << false << "pair pair" << "Running";
    QTest::newRow("the newest pair is taken")
        << QStringList{"model A", "clean x.png", "corrupt y.png", "corrupt z.png", "pair old", "pair"} << true << false << -1
        << false << false << "pair pair preview" << "Attribution patching";
    QTest::newRow("a preview of the previous component is dropped")
        << QStringList{"model A", "clean x.png", "corrupt y.png", "pair", "component head_z", "preview old"} << true << false
        << -1 << false << false << "pair preview preview" << "Attribution patching";
    QTest::newRow("progress fills the grid") << kReady + QStringList{"exact", "progress"} << true << true << 1 << true << false
                                             << "pair preview exact" << "Exact sweep of resid_pre";
    QTest::newRow("a cancelled sweep's grid is dropped")
        << kReady + QStringList{"exact", "progress", "cancel", "grid"} << true << false << 1 << true << false
        << "pair preview exact" << "Sweep cancelled.";
    QTest::newRow("progress after cancel is dropped") << kReady + QStringList{"exact", "cancel", "progress"} << true << false
                                                      << -1 << true << false << "pair preview exact" << "Sweep cancelled.";
    QTest::newRow("a finished sweep comes back from the cache")
        << kReady + QStringList{"exact", "grid", "component head_z", "preview", "component resid_pre", "exact"} << true << false
        << kLayers * kCols << true << false << "pair preview exact preview" << "Cached exact sweep";
    QTest::newRow("a stopped sweep is not cached")
        << kReady + QStringList{"exact", "grid stopped", "component head_z", "preview", "component resid_pre"} << true << false
        << -1 << true << false << "pair preview exact preview" << "Cached preview";
    QTest::newRow("a setup change cancels the sweep") << kReady + QStringList{"exact", "progress", "metric prob"} << true
                                                      << false << -1 << false << false << "pair preview exact preview"
                                                      << "Attribution patching";
    QTest::newRow("a new model empties the cache")
        << kReady + QStringList{"exact", "grid", "model B", "pair", "preview"} << true << false << -1 << true << false
        << "pair preview exact pair preview" << "Preview ready";
    QTest::newRow("swapping the sources runs the pair again") << kReady + QStringList{"swap"} << false << false << -1 << false
                                                              << false << "pair preview pair" << "Running";
    QTest::newRow("a patch of an older click is dropped") << kReady + QStringList{"cell", "cell", "run old"} << true << false
                                                          << -1 << true << false << "pair preview cell cell" << "Preview ready";
    QTest::newRow("the newest click's patch is shown") << kReady + QStringList{"cell", "cell", "run old", "run"} << true
                                                       << false << -1 << true << true << "pair preview cell cell"
                                                       << "Preview ready";
    QTest::newRow("a failed pair says why") << QStringList{"model A", "clean x.png", "corrupt y.png", "fail pair"} << false
                                            << false << -1 << false << false << "pair" << "clean.png: not an image";
  }

  void scripts() {
    QFETCH(QStringList, steps);
    FakeBackend backend;
    PatchingPresenter p(&backend);
    for (const QString& step : steps) {
      play(p, backend, step);
      if (QTest::currentTestFailed()) return;
    }
    QFETCH(bool, pairReady);
    QFETCH(bool, sweepRunning);
    QFETCH(int, exactDone);
    QFETCH(bool, previewShown);
    QFETCH(bool, patchedShown);
    QFETCH(QString, requests);
    QFETCH(QString, status);
    QCOMPARE(p.pairReady(), pairReady);
    QCOMPARE(p.sweepRunning(), sweepRunning);
    QCOMPARE(p.exactGrid().isValid() ? static_cast<int>(p.exactGrid().done) : -1, exactDone);
    QCOMPARE(p.attributionGrid().isValid(), previewShown);
    QCOMPARE(p.patchedRun().requestId != 0, patchedShown);
    QStringList types;
    for (const Request& r : backend.requests) types << r.type;
    QCOMPARE(types.join(' '), requests);
    QVERIFY2(p.status().contains(status), qPrintable(p.status()));
    QCOMPARE(p.exactFromCache(), status == QLatin1String("Cached exact sweep"));
    // A sweep the user cancelled was stopped in the backend, not only forgotten.
    if (steps.contains(QStringLiteral("cancel"))) QVERIFY(backend.cancelled.contains(backend.idOf("exact")));
  }

  void metricClassesDefaultToThePredictions_data() {
    QTest::addColumn<QVector<int>>("cleanTop");
    QTest::addColumn<QVector<int>>("corruptTop");
    QTest::addColumn<QString>("metric");
    QTest::addColumn<QString>("key");
    QTest::newRow("two predictions") << QVector<int>{0, 1} << QVector<int>{3, 0} << "logit_diff" << "logit_diff(0,3)";
    QTest::newRow("same prediction: B is the next") << QVector<int>{2, 1} << QVector<int>{2, 3} << "logit_diff"
                                                    << "logit_diff(2,3)";
    QTest::newRow("probability takes A only") << QVector<int>{0, 1} << QVector<int>{3, 0} << "prob" << "prob(0)";
  }

  void metricClassesDefaultToThePredictions() {
    QFETCH(QVector<int>, cleanTop);
    QFETCH(QVector<int>, corruptTop);
    QFETCH(QString, metric);
    QFETCH(QString, key);
    FakeBackend backend;
    PatchingPresenter p(&backend);
    p.setMetric(interp::metricKindFromName(metric.toStdString()), false);
    p.setModel(model("A"));
    p.setSource(Source::Clean, app::ImageRequest::file("x.png"));
    p.setSource(Source::Corrupt, app::ImageRequest::file("y.png"));
    p.onPairReady(backend.idOf("pair"), pairInfo({ComponentKind::ResidPre}, cleanTop, corruptTop));
    QCOMPARE(p.setup().metricKey(), key);
    // The preview the pair starts scores with those classes.
    QCOMPARE(QString::fromStdString(backend.requests.last().setup.metric.key()), key);
  }

  // The sweep status's durations: an ETA of 2638.5 s reads 0:43:59, a sweep of 12 ms does
  // not read "0.0 s".
  void durationsReadAsAPersonWould_data() {
    QTest::addColumn<qint64>("ms");
    QTest::addColumn<QString>("clock");
    QTest::addColumn<QString>("shortText");
    QTest::newRow("nothing") << qint64(0) << "0:00:00" << "< 1 ms";
    QTest::newRow("12 ms") << qint64(12) << "0:00:00" << "12 ms";
    QTest::newRow("999 ms") << qint64(999) << "0:00:01" << "999 ms";
    QTest::newRow("3.4 s") << qint64(3400) << "0:00:03" << "3.4 s";
    QTest::newRow("59.9 s") << qint64(59900) << "0:01:00" << "59.9 s";
    QTest::newRow("2638.5 s") << qint64(2638500) << "0:43:59" << "0:43:59";
    QTest::newRow("2 h") << qint64(7322000) << "2:02:02" << "2:02:02";
  }
  void durationsReadAsAPersonWould() {
    QFETCH(qint64, ms);
    QFETCH(QString, clock);
    QFETCH(QString, shortText);
    QCOMPARE(app::clockDuration(ms), clock);
    QCOMPARE(app::shortDuration(ms), shortText);
  }

  // What the empty map tells the user to do, step by step.
  void nextStepFollowsWhatIsMissing() {
    FakeBackend backend;
    PatchingPresenter p(&backend);
    QVERIFY(p.nextStep().contains(QStringLiteral("Open a model")));
    p.setModel(model("A"));
    QVERIFY(p.nextStep().contains(QStringLiteral("Drop a clean image and a corrupted image")));
    p.setSource(Source::Clean, app::ImageRequest::file("x.png"));
    QVERIFY(p.nextStep().contains(QStringLiteral("Drop a clean image and a corrupted image")));
    p.setSource(Source::Corrupt, app::ImageRequest::file("y.png"));
    QVERIFY(p.nextStep().startsWith(QStringLiteral("Running")));
    p.onPairReady(backend.idOf("pair"), pairInfo());
    QVERIFY(p.nextStep().contains(QStringLiteral("Run exact")));
    p.setSource(Source::Clean, app::ImageRequest::file("z.png"));
    p.onFailed(backend.idOf("pair"), QStringLiteral("z.png: not an image"));
    QCOMPARE(p.nextStep(), QStringLiteral("z.png: not an image"));
  }

  // A sweep that fails half-way keeps the cells it ran, is no longer running, and says so to
  // the board (which then drops "(running)" from the plot's title).
  void aFailedSweepStopsRunning() {
    FakeBackend backend;
    PatchingPresenter p(&backend);
    for (const QString& step : kReady + QStringList{"exact", "progress"}) play(p, backend, step);
    QVERIFY(p.sweepRunning());
    QSignalSpy grids(&p, &PatchingPresenter::gridsChanged);
    p.onFailed(backend.idOf("exact"), QStringLiteral("No clean / corrupted pair has been run."));
    QVERIFY(!p.sweepRunning());
    QCOMPARE(grids.count(), 1);
    QCOMPARE(p.exactGrid().done, qint64(1));
    QCOMPARE(p.status(), QStringLiteral("No clean / corrupted pair has been run."));
  }

  void aComponentTheModelLacksFails() {
    FakeBackend backend;
    PatchingPresenter p(&backend);
    p.setComponent(ComponentKind::MlpOut);  // asked before the model said what it has
    p.setModel(model("attn-only"));
    p.setSource(Source::Clean, app::ImageRequest::file("x.png"));
    p.setSource(Source::Corrupt, app::ImageRequest::file("y.png"));
    QSignalSpy failed(&p, &PatchingPresenter::failed);
    p.onPairReady(backend.idOf("pair"), pairInfo({ComponentKind::ResidPre, ComponentKind::HeadZ}));
    QVERIFY(p.status().contains(QStringLiteral("mlp_out: this model has no such component (it has resid_pre, head_z)")));
    QVERIFY(p.setup().component == ComponentKind::ResidPre);  // falls back to what the model has
    QVERIFY(!p.setComponent(ComponentKind::MlpOut));
    QCOMPARE(failed.count(), 1);
    QVERIFY(p.setup().component == ComponentKind::ResidPre);
  }
};

QTEST_GUILESS_MAIN(TestPatchingPresenter)
#include "tst_patching_presenter.moc"
