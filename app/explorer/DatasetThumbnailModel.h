#pragma once
// A list model over one split of a dataset for the images panel. Thumbnails are rendered
// only when a view asks for them (the list is virtualised: a 60,000-image split costs
// nothing until scrolled to) and kept in a bounded cache.

#include "datasets/Dataset.h"

#include <QAbstractListModel>
#include <QCache>
#include <QImage>

#include <memory>

namespace prisma::app {

// A dragged dataset item: "NAME/SPLIT/ROW", with the item's pixels as the image data.
inline const char* const kDatasetItemMime = "application/x-prisma-dataset-item";

class DatasetThumbnailModel : public QAbstractListModel {
  Q_OBJECT

public:
  explicit DatasetThumbnailModel(QObject* parent = nullptr);

  void setDataset(std::shared_ptr<const datasets::Dataset> dataset, datasets::Split split);
  const datasets::Dataset* dataset() const { return dataset_.get(); }
  datasets::Split split() const { return split_; }

  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  // Items drag out as kDatasetItemMime (onto the patching board's slots, or as images).
  Qt::ItemFlags flags(const QModelIndex& index) const override;
  QStringList mimeTypes() const override;
  QMimeData* mimeData(const QModelIndexList& indexes) const override;

  // The full-size item as an image, and a title like "induction/test/17 (vertical-same)".
  QImage image(int row) const;
  QString title(int row) const;

private:
  std::shared_ptr<const datasets::Dataset> dataset_;
  datasets::Split split_ = datasets::Split::Train;
  mutable QCache<int, QImage> thumbnails_;
};

// An 8-bit dataset item as a QImage (grey or RGB), sharing nothing with the item.
QImage itemToImage(const datasets::Item& item);

}  // namespace prisma::app
