#pragma once
// What the patching board knows, without a widget: the model and the two sources, the
// setup (component, metric, classes), which requests it still waits for (one id each for
// the pair, the exact sweep, the preview and a single patch -- a result carrying any other
// id is stale and dropped), the grids shown, and a cache of finished grids per (model,
// images, component, metric). PatchingBoard draws this state and forwards the user's
// clicks; tests drive a presenter with a fake backend (tests/app/tst_patching_presenter).
//
// The backend runs the requests (QueuedPatchingBackend: jobs on the explorer's model
// thread) and hands each result back to one of the on*() functions with its id.

#include "app/explorer/ExplorerTypes.h"
#include "app/explorer/patching/PatchingTypes.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>

#include <optional>

namespace prisma::app {

class PatchingBackend {
public:
  virtual ~PatchingBackend() = default;
  // Each returns the id its result will carry.
  virtual quint64 preparePair(const ImageRequest& clean, const ImageRequest& corrupt) = 0;
  virtual quint64 sweep(const PatchingSetup& setup, bool exact) = 0;
  virtual quint64 patchCell(const PatchingSetup& setup, const QVector<int>& cell) = 0;
  virtual quint64 patchRegion(const PatchingSetup& setup, interp::ComponentKind kind, int layer,
                              const QVector<int>& positions) = 0;
  // Stops a request; a sweep stops at its next batch. Its results are not delivered.
  virtual void cancel(quint64 id) = 0;
};

// Identifies an image for the results cache: its spec, dataset item, or pixels.
QString sourceKey(const ImageRequest& request);

// Durations as the sweep status shows them. An ETA as h:mm:ss ("0:43:59"); an elapsed time
// in milliseconds below a second ("12 ms", so a fast sweep does not read "0.0 s"), in
// seconds below a minute ("3.4 s"), as h:mm:ss above.
QString clockDuration(qint64 ms);
QString shortDuration(qint64 ms);

class PatchingPresenter : public QObject {
  Q_OBJECT

public:
  enum class Source { Clean, Corrupt };

  explicit PatchingPresenter(PatchingBackend* backend, QObject* parent = nullptr);
  ~PatchingPresenter() override;

  // Inputs. Each of the first three drops what was shown and runs the pair again.
  void setModel(const ModelSummary& model);
  void setSource(Source which, const ImageRequest& request);
  void swapSources();
  // False (and a failed() message) when the pair has run and the model has no such component.
  bool setComponent(interp::ComponentKind kind);
  void setMetric(interp::MetricKind kind, bool normalized);
  void setClasses(int classA, int classB);
  void setBatchSize(int cells) { batchSize_ = cells; }
  // Screenshot mode: start the exact sweep as soon as the pair has run.
  void setRunExactWhenReady(bool run) { runExactWhenReady_ = run; }

  // Requests.
  void preview();
  void runExact();
  void cancel();
  void patchCell(int row, int col);
  void patchRegion(interp::ComponentKind kind, int layer, const QVector<int>& tokens);

  // Results from the backend.
  void onPairReady(quint64 id, const PatchingPairInfo& info);
  void onProgress(quint64 id, const PatchingGrid& grid);
  void onGridReady(quint64 id, const PatchingGrid& grid);
  void onPatchedRun(quint64 id, const PatchedRun& run);
  void onFailed(quint64 id, const QString& message);

  // State.
  bool hasModel() const { return hasModel_; }
  bool pairReady() const { return pairReady_; }
  bool preparing() const { return pairId_ != 0; }
  bool sweepRunning() const { return sweepId_ != 0; }
  bool hasSource(Source which) const { return source(which).has_value(); }
  const std::optional<ImageRequest>& source(Source which) const { return which == Source::Clean ? clean_ : corrupt_; }
  PatchingSetup setup() const;
  const PatchingPairInfo& pairInfo() const { return pair_; }
  const PatchingGrid& exactGrid() const { return exact_; }
  const PatchingGrid& attributionGrid() const { return attribution_; }
  // The exact grid when there is one, else the preview.
  const PatchingGrid& shownGrid() const { return exact_.isValid() ? exact_ : attribution_; }
  const PatchedRun& patchedRun() const { return patched_; }
  const QString& status() const { return status_; }
  // What the user does next while no grid is shown, for the empty map: open a model, drop
  // the images, wait for the pair, or run a sweep.
  QString nextStep() const;
  qint64 sweepElapsedMs() const { return sweepClock_.isValid() ? sweepClock_.elapsed() : 0; }
  // The exact grid shown came from the cache, not from a sweep just run.
  bool exactFromCache() const { return exactFromCache_; }
  // Exact and attribution grids of the same shape, the sweep complete: they can be compared.
  bool comparable() const;
  int cachedGrids() const { return cache_.size(); }

signals:
  // The pair ran (or was reset: pairReady() false); the sources, classes and components changed.
  void pairChanged();
  void pairPrepared();
  // The exact or attribution grid shown changed.
  void gridsChanged();
  void sweepProgress(qint64 done, qint64 total);
  void exactFinished();
  void previewFinished();
  void patchedRunChanged();
  void patchedRunShown();
  void statusChanged(const QString& status);
  // Running or waiting states changed (what the buttons offer).
  void stateChanged();
  void failed(const QString& message);

private:
  struct Cached {
    PatchingGrid exact, attribution;
  };

  void prepare();
  void setupChanged();
  void stopSweep();
  void setStatus(const QString& status);
  QString cacheKey() const;
  std::optional<ImageRequest>& source(Source which) { return which == Source::Clean ? clean_ : corrupt_; }

  PatchingBackend* backend_ = nullptr;
  QString modelKey_;
  bool hasModel_ = false;
  std::optional<ImageRequest> clean_, corrupt_;
  interp::ComponentKind component_ = interp::ComponentKind::ResidPre;
  interp::MetricKind metricKind_ = interp::MetricKind::LogitDiff;
  bool normalized_ = false;
  int classA_ = -1, classB_ = -1;
  int batchSize_ = 0;
  bool runExactWhenReady_ = false;

  quint64 pairId_ = 0, sweepId_ = 0, previewId_ = 0, patchId_ = 0;
  bool pairReady_ = false;
  bool exactFromCache_ = false;
  PatchingPairInfo pair_;
  PatchingGrid exact_, attribution_;
  PatchedRun patched_;
  QString status_;
  QElapsedTimer sweepClock_;
  QHash<QString, Cached> cache_;
};

}  // namespace prisma::app
