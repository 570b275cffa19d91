#pragma once
// The Patching tab: two source slots (clean, corrupted), a component and a metric, an
// attribution-patching preview computed at once and an exact activation-patching sweep
// that fills its colour map batch by batch on the worker thread (progress, ETA, Cancel).
// Clicking a cell runs that one patch and shows clean / corrupted / patched predictions;
// a rectangle of patches dragged from the clean image onto the corrupted one runs the
// engine's free-form patch at a chosen layer. Grids export as CSV and PNG. The state --
// which requests are pending, the grids, the cache -- is the PatchingPresenter's; the
// board draws it and forwards the user's clicks. Model work runs as jobs on the
// explorer's model thread (QueuedPatchingBackend).

#include "app/explorer/ExplorerTypes.h"
#include "app/explorer/patching/PatchingPresenter.h"
#include "app/explorer/patching/PatchingTypes.h"

#include <QWidget>

#include <memory>

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
class QueuedPatchingBackend;

class PatchingBoard : public QWidget {
  Q_OBJECT

public:
  using Source = PatchingPresenter::Source;

  PatchingBoard(ExplorerController* controller, QWidget* parent = nullptr);
  ~PatchingBoard() override;

  void setModel(const ModelSummary& model);
  void setSource(Source which, const ImageRequest& request);
  void swapSources();
  // A component by its command-line name (screenshot mode); an unknown name fails.
  void setComponent(const QString& name);
  void setComponent(interp::ComponentKind kind);
  void setMetric(interp::MetricKind kind, bool normalized = false);
  void setBatchSize(int cells) { presenter_->setBatchSize(cells); }
  // Screenshot mode: start the exact sweep as soon as the pair has run.
  void setRunExactWhenReady(bool run) { presenter_->setRunExactWhenReady(run); }

  void preview();
  void runExact();
  void cancel();
  void patchCell(int row, int col);
  void patchRegion(const QRect& patches);
  bool exportCsv(const QString& file) const;
  bool exportPng(const QString& file);

  PatchingPresenter* presenter() const { return presenter_.get(); }
  bool pairReady() const { return presenter_->pairReady(); }
  bool sweepRunning() const { return presenter_->sweepRunning(); }
  PatchingSetup setup() const { return presenter_->setup(); }
  const PatchingPairInfo& pairInfo() const { return presenter_->pairInfo(); }
  const PatchingGrid& exactGrid() const { return presenter_->exactGrid(); }
  const PatchingGrid& attributionGrid() const { return presenter_->attributionGrid(); }
  const PatchedRun& lastPatchedRun() const { return presenter_->patchedRun(); }

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
  void onPairChanged();
  void onStateChanged();
  void onProgress(qint64 done, qint64 total);
  // The exact grid shown is final (swept to the end, or from the cache): its count and time.
  void showFinishedSweep();
  void onPatchedRunChanged();
  void resetResults();
  void showNextStep();
  QString patchHint() const;
  void fillClassBoxes();
  void fillComponentBoxes();
  void readSetup();
  void showGrids();
  QString valueLabel() const;
  QString plotTitle(const QString& what) const;

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

  // Declared in this order so the presenter goes first: its destructor cancels through
  // the backend.
  std::unique_ptr<QueuedPatchingBackend> backend_;
  std::unique_ptr<PatchingPresenter> presenter_;
};

}  // namespace prisma::app
