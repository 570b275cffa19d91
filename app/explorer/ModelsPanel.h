#pragma once
// The Models dock: the bundled mice, recently opened models and Open…; shows the loaded
// model's name, format, architecture and class count; and whether models are loaded
// with their weights processed (fold LayerNorm, centre writing weights, fold value
// biases), remembered across sessions.

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

  void setLoaded(const ModelSummary& summary);  // also records it as recent
  QStringList recentModels() const;
  // The checkbox's state (from QSettings at start).
  bool processWeights() const;
  QCheckBox* processWeightsBox() const { return processWeights_; }

signals:
  void modelChosen(const QString& path);
  void openRequested();
  // The user ticked or unticked the checkbox (already saved).
  void processWeightsChanged(bool process);

private:
  void refreshList();

  QListWidget* list_ = nullptr;
  QLabel* summary_ = nullptr;
  QCheckBox* processWeights_ = nullptr;
};

// Folders of the models shipped with the application (resources/mice), if any.
QStringList bundledModels();
// The one the explorer opens on first start: the 2-layer Induction mouse when shipped,
// else the first bundled model, else "".
QString defaultBundledModel();

}  // namespace prisma::app
