#pragma once
// The Patching tab: two source slots (clean, corrupted), a component and a metric, an
// attribution-patching preview computed at once and an exact activation-patching sweep
// that fills its colour map batch by batch on the worker thread (progress, ETA, Cancel).
// Clicking a cell runs that one patch and shows clean / corrupted / patched predictions;
// a rectangle of patches dragged from the clean image onto the corrupted one runs the
// engine's free-form patch at a chosen layer. Grids are cached per (model, images,
// component, metric) and export as CSV and PNG. All model work goes through the
// ExplorerController; the GUI thread only sends requests and draws results.

#include "app/explorer/ExplorerTypes.h"
#include "app/explorer/patching/PatchingTypes.h"

#include <QElapsedTimer>
#include <QHash>
#include <QWidget>

class QCheckBox;
class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace prisma::widgets {
class TopKBars;
}

namespace prisma::app {

class ExplorerController;
class PatchGridPlot;
class PatchSourceSlot;

class PatchingBoard : public QWidget {
  Q_OBJECT

public:
  enum class Source { Clean, Corrupt };

  PatchingBoard(ExplorerController* controller, QWidget* parent = nullptr);
  ~PatchingBoard() override;

  void setModel(const ModelSummary& model);
  void setSource(Source which, const ImageRequest& request);
  void swapSources();
  void setComponent(const QString& name);
  void setMetric(PatchMetricKind kind);
  void setBatchSize(int cells) { batchSize_ = cells; }
  // Screenshot mode: start the exact sweep as soon as the pair has run.
  void setRunExactWhenReady(bool run) { runExactWhenReady_ = run; }

  void preview();
  void runExact();
  void cancel();
  void patchCell(int row, int col);
  void patchRegion(const QRect& patches);
  bool exportCsv(const QString& file) const;
  bool exportPng(const QString& file);

  bool pairReady() const { return pairReady_; }
  bool sweepRunning() const { return sweepId_ != 0; }
  PatchingSetup setup() const;
  const PatchingPairInfo& pairInfo() const { return pair_; }
  const PatchingGrid& exactGrid() const { return exact_; }
  const PatchingGrid& attributionGrid() const { return attribution_; }
  const PatchedRun& lastPatchedRun() const { return patched_; }

  PatchSourceSlot* slot(Source which) const { return which == Source::Clean ? clean_ : corrupt_; }
  PatchGridPlot* mainPlot() const { return mainPlot_; }
  PatchGridPlot* attributionPlot() const { return attributionPlot_; }
  PatchGridPlot* differencePlot() const { return differencePlot_; }
  QPushButton* runButton() const { return runButton_; }
  QPushButton* cancelButton() const { return cancelButton_; }
  QCheckBox* compareToggle() const { return compare_; }
  QProgressBar* progressBar() const { return progress_; }
  widgets::TopKBars* patchedBars() const { return patchedBars_; }
  QLabel* patchedLabel() const { return patchedLabel_; }

signals:
  void pairPrepared();
  void sweepProgress(qint64 done, qint64 total);
  void exactFinished();
  void previewFinished();
  void patchedRunShown();
  void failed(const QString& message);

private:
  void prepare();
  void onPairReady(const PatchingPairInfo& info);
  void onProgress(const PatchingGrid& grid);
  void onGridReady(const PatchingGrid& grid);
  void onPatchedRun(const PatchedRun& run);
  void onFailed(const QString& message, quint64 id);
  void setupChanged();
  void fillClassBoxes();
  void showGrids();
  void updateButtons();
  void stopSweep();
  QString cacheKey() const;
  QString valueLabel() const;
  QString plotTitle(const QString& what) const;

  struct Cached {
    PatchingGrid exact, attribution;
  };

  ExplorerController* controller_ = nullptr;
  PatchSourceSlot* clean_ = nullptr;
  PatchSourceSlot* corrupt_ = nullptr;
  QComboBox* component_ = nullptr;
  QComboBox* metric_ = nullptr;
  QComboBox* classA_ = nullptr;
  QComboBox* classB_ = nullptr;
  QPushButton* previewButton_ = nullptr;
  QPushButton* runButton_ = nullptr;
  QPushButton* cancelButton_ = nullptr;
  QPushButton* csvButton_ = nullptr;
  QPushButton* pngButton_ = nullptr;
  QCheckBox* compare_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QLabel* eta_ = nullptr;
  QSpinBox* spatialLayer_ = nullptr;
  QComboBox* spatialKind_ = nullptr;
  QPushButton* spatialButton_ = nullptr;
  QWidget* plots_ = nullptr;
  PatchGridPlot* mainPlot_ = nullptr;
  PatchGridPlot* attributionPlot_ = nullptr;
  PatchGridPlot* differencePlot_ = nullptr;
  widgets::TopKBars* cleanBars_ = nullptr;
  widgets::TopKBars* corruptBars_ = nullptr;
  widgets::TopKBars* patchedBars_ = nullptr;
  QLabel* patchedLabel_ = nullptr;
  QLabel* status_ = nullptr;

  QString modelSource_;
  QString requestedComponent_;  // the component asked for before the model said which it has
  bool hasModel_ = false;
  quint64 pairId_ = 0, sweepId_ = 0, previewId_ = 0, patchId_ = 0;
  bool pairReady_ = false;
  bool runExactWhenReady_ = false;
  int batchSize_ = 0;
  PatchingPairInfo pair_;
  PatchingGrid exact_, attribution_;
  PatchedRun patched_;
  StopToken stop_;
  QElapsedTimer sweepClock_;
  QHash<QString, Cached> cache_;
};

}  // namespace prisma::app
