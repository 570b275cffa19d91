#pragma once
// The Images dock: every built-in dataset browsable as thumbnails (train or test split),
// plus image files opened, dropped or pasted. Choosing an image asks for it to be run.
// A data set that is not installed (MNIST under a fresh home) says which command fetches
// it, wrapped inside the dock's width rather than widening it.

#include "app/explorer/ExplorerTypes.h"

#include <QWidget>

class QComboBox;
class QLabel;
class QListView;

namespace prisma::app {

class DatasetThumbnailModel;

class ImagesPanel : public QWidget {
  Q_OBJECT

public:
  explicit ImagesPanel(QWidget* parent = nullptr);

  // Shows `name` ("induction", "mnist", ...) and its split; false with a message shown
  // in the panel when the dataset cannot be made (e.g. MNIST not installed).
  bool showDataset(const QString& name, const QString& split = QStringLiteral("test"));
  void selectItem(int row);  // emits imageChosen for that item
  // No thumbnail highlighted (an image from elsewhere is shown); clicking one runs it.
  void clearCurrent();
  DatasetThumbnailModel* model() const { return model_; }
  QListView* view() const { return view_; }

signals:
  void imageChosen(const prisma::app::ImageRequest& request);

private:
  void reload();
  void showMessage(const QString& text);
  ImageRequest request(int row) const;

  QComboBox* datasetBox_ = nullptr;
  QComboBox* splitBox_ = nullptr;
  QListView* view_ = nullptr;
  QLabel* message_ = nullptr;
  DatasetThumbnailModel* model_ = nullptr;
};

}  // namespace prisma::app
