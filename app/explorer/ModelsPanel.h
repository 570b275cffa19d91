#pragma once
// The Models dock: the bundled mice, recently opened models and Open…; shows the loaded
// model's name, format, architecture and class count.

#include "app/explorer/ExplorerTypes.h"

#include <QWidget>

class QLabel;
class QListWidget;

namespace prisma::app {

class ModelsPanel : public QWidget {
  Q_OBJECT

public:
  explicit ModelsPanel(QWidget* parent = nullptr);

  void setLoaded(const ModelSummary& summary);  // also records it as recent
  QStringList recentModels() const;

signals:
  void modelChosen(const QString& path);
  void openRequested();

private:
  void refreshList();

  QListWidget* list_ = nullptr;
  QLabel* summary_ = nullptr;
};

// Folders of the models shipped with the application (resources/mice), if any.
QStringList bundledModels();
// The one the explorer opens on first start: the 2-layer Induction mouse when shipped,
// else the first bundled model, else "".
QString defaultBundledModel();

}  // namespace prisma::app
