#pragma once
// The Models dock: the bundled mice grouped by the dataset they learned, the models opened
// in this session, the ones from earlier sessions (recent), and Open…; the loaded model is
// highlighted, and a model opens on activation (a click then Enter, or a double-click).
// Shows the loaded model's name, format, architecture and class count; and whether models
// are loaded with their weights processed (fold LayerNorm, centre writing weights, fold
// value biases), remembered across sessions.
//
// Paths are remembered absolute, so a start from another folder finds them. Checkpoints
// (a run's checkpoints/step_… folders, opened from the Training tab) are shown under the
// run they belong to while this session lasts, never remembered as recent models.

#include "app/explorer/ExplorerTypes.h"

#include <QWidget>

class QCheckBox;
class QLabel;
class QListWidget;

namespace prisma::app {

class ModelsPanel : public QWidget {
  Q_OBJECT

public:
  explicit ModelsPanel(QWidget* parent = nullptr);

  // Highlights it, lists it under "Opened", and remembers it as recent unless it is
  // bundled, a checkpoint or built in memory.
  void setLoaded(const ModelSummary& summary);
  QStringList recentModels() const;
  // The checkbox's state (from QSettings at start).
  bool processWeights() const;
  QCheckBox* processWeightsBox() const { return processWeights_; }
  QListWidget* list() const { return list_; }

signals:
  void modelChosen(const QString& path);
  void openRequested();
  // The user ticked or unticked the checkbox (already saved).
  void processWeightsChanged(bool process);

private:
  void refreshList();

  QListWidget* list_ = nullptr;
  QLabel* summary_ = nullptr;
  QLabel* hint_ = nullptr;
  QCheckBox* processWeights_ = nullptr;
  QStringList opened_;  // this session's models that are not bundled, newest first
  QString loaded_;
};

// Folders of the models shipped with the application (resources/mice), if any.
QStringList bundledModels();
// The one the explorer opens on first start: the 2-layer Induction mouse when shipped,
// else the first bundled model, else "".
QString defaultBundledModel();
// A training run's checkpoint (RUN/checkpoints/step_…): not a model to list as recent.
bool isCheckpointPath(const QString& path);
// What a path is remembered as: absolute and clean when it names a file or folder; model
// names such as mouse:NAME and in-memory sources unchanged.
QString absoluteModelPath(const QString& path);

}  // namespace prisma::app
