#include "app/explorer/DatasetThumbnailModel.h"

#include <QMimeData>

namespace prisma::app {

namespace {
constexpr int kThumbnailSize = 64;
constexpr int kCachedThumbnails = 2000;
}  // namespace

QImage itemToImage(const datasets::Item& item) {
  const QImage::Format format = item.channels == 1   ? QImage::Format_Grayscale8
                                : item.channels == 4 ? QImage::Format_RGBA8888
                                                     : QImage::Format_RGB888;
  const QImage view(item.pixels.data(), item.width, item.height, item.width * item.channels, format);
  return view.copy();
}

DatasetThumbnailModel::DatasetThumbnailModel(QObject* parent) : QAbstractListModel(parent) {
  thumbnails_.setMaxCost(kCachedThumbnails);
}

void DatasetThumbnailModel::setDataset(std::shared_ptr<const datasets::Dataset> dataset, datasets::Split split) {
  beginResetModel();
  dataset_ = std::move(dataset);
  split_ = split;
  thumbnails_.clear();
  endResetModel();
}

int DatasetThumbnailModel::rowCount(const QModelIndex& parent) const {
  if (parent.isValid() || !dataset_) return 0;
  return static_cast<int>(dataset_->size(split_));
}

QImage DatasetThumbnailModel::image(int row) const {
  if (!dataset_ || row < 0 || row >= rowCount()) return {};
  return itemToImage(dataset_->item(split_, static_cast<size_t>(row)));
}

QString DatasetThumbnailModel::title(int row) const {
  if (!dataset_) return {};
  const int label = dataset_->label(split_, static_cast<size_t>(row));
  const auto names = dataset_->classNames();
  QString t = QStringLiteral("%1/%2/%3").arg(QString::fromStdString(dataset_->name()),
                                             QString::fromStdString(datasets::toString(split_)))
                  .arg(row);
  if (label >= 0 && label < static_cast<int>(names.size())) t += QStringLiteral(" (%1)").arg(QString::fromStdString(names[label]));
  return t;
}

QVariant DatasetThumbnailModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || !dataset_) return {};
  const int row = index.row();
  switch (role) {
    case Qt::DecorationRole: {
      if (QImage* cached = thumbnails_.object(row)) return *cached;
      auto* thumb = new QImage(image(row).scaled(kThumbnailSize, kThumbnailSize, Qt::KeepAspectRatio,
                                                 Qt::FastTransformation));
      const QImage copy = *thumb;
      thumbnails_.insert(row, thumb);
      return copy;
    }
    case Qt::DisplayRole: {
      const int label = dataset_->label(split_, static_cast<size_t>(row));
      const auto names = dataset_->classNames();
      return label >= 0 && label < static_cast<int>(names.size()) ? QString::fromStdString(names[label])
                                                                 : QString::number(row);
    }
    case Qt::ToolTipRole: return title(row);
    default: return {};
  }
}

Qt::ItemFlags DatasetThumbnailModel::flags(const QModelIndex& index) const {
  Qt::ItemFlags f = QAbstractListModel::flags(index);
  if (index.isValid()) f |= Qt::ItemIsDragEnabled;
  return f;
}

QStringList DatasetThumbnailModel::mimeTypes() const { return {QString::fromLatin1(kDatasetItemMime)}; }

QMimeData* DatasetThumbnailModel::mimeData(const QModelIndexList& indexes) const {
  if (indexes.isEmpty() || !dataset_) return nullptr;
  const int row = indexes.first().row();
  auto* mime = new QMimeData;
  mime->setData(kDatasetItemMime, QStringLiteral("%1/%2/%3")
                                      .arg(QString::fromStdString(dataset_->name()),
                                           QString::fromStdString(datasets::toString(split_)))
                                      .arg(row)
                                      .toUtf8());
  mime->setImageData(image(row));
  return mime;
}

}  // namespace prisma::app
