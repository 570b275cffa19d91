#include "app/explorer/patching/PatchSourceSlot.h"

#include "app/explorer/DatasetThumbnailModel.h"
#include "app/explorer/patching/PatchImageView.h"

#include "widgets/TopKBars.h"

#include <QDragEnterEvent>
#include <QDropEvent>
#include <QImageReader>
#include <QLabel>
#include <QMimeData>
#include <QUrl>
#include <QVBoxLayout>

namespace prisma::app {

PatchSourceSlot::PatchSourceSlot(const QString& role, QWidget* parent) : QFrame(parent), role_(role) {
  setFrameShape(QFrame::StyledPanel);
  setAcceptDrops(true);
  title_ = new QLabel(QStringLiteral("<b>%1</b>").arg(role.toHtmlEscaped()), this);
  title_->setWordWrap(true);
  image_ = new PatchImageView(this);
  bars_ = new widgets::TopKBars(this);
  metric_ = new QLabel(this);
  metric_->setObjectName(QStringLiteral("metricLabel"));
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(title_);
  layout->addWidget(image_, 1);
  layout->addWidget(bars_);
  layout->addWidget(metric_);
}

void PatchSourceSlot::setRequest(const ImageRequest& request) {
  request_ = request;
  hasRequest_ = true;
  title_->setText(QStringLiteral("<b>%1</b> \u2014 %2").arg(role_.toHtmlEscaped(), request.title.toHtmlEscaped()));
  title_->setToolTip(request.path.isEmpty() ? request.title : request.path);
  clearInfo();
  showPreview();
}

void PatchSourceSlot::showPreview() {
  QImage preview = request_.pixels;
  if (preview.isNull() && !request_.path.isEmpty()) {
    // An image file decodes here in milliseconds; a FILE.safetensors:KEY spec is a
    // preprocessed tensor that only the model's run turns back into an image.
    QImageReader reader(request_.path);
    reader.setAutoTransform(true);
    preview = reader.read();
  }
  if (!preview.isNull()) {
    image_->setImage(preview, 0, 0, false);
    return;
  }
  image_->clear();
  image_->setPlaceholder(tr("%1\nshown once the model has run it").arg(request_.title));
}

void PatchSourceSlot::clearResults() {
  bars_->setScores({});
  metric_->clear();
}

QString PatchSourceSlot::sourceKey() const {
  if (!request_.path.isEmpty()) return request_.path;
  if (request_.row >= 0) return QStringLiteral("%1/%2/%3").arg(request_.dataset, request_.split).arg(request_.row);
  return QStringLiteral("pixels:%1").arg(request_.pixels.cacheKey());
}

void PatchSourceSlot::setInfo(const PatchSourceInfo& info, int gridRows, int gridCols, bool hasCls) {
  image_->setImage(info.input, gridRows, gridCols, hasCls);
  bars_->setScores(info.topk);
}

void PatchSourceSlot::clearInfo() {
  image_->clear();
  bars_->setScores({});
  metric_->clear();
}

void PatchSourceSlot::setMetricText(const QString& text) { metric_->setText(text); }

std::optional<ImageRequest> PatchSourceSlot::requestFromMime(const QMimeData* mime) {
  if (mime->hasFormat(kDatasetItemMime)) {
    // NAME/SPLIT/ROW: the pixels travel along, so the item need not be rebuilt.
    const QString item = QString::fromUtf8(mime->data(kDatasetItemMime));
    ImageRequest r = ImageRequest::image(qvariant_cast<QImage>(mime->imageData()), item);
    r.dataset = item.section('/', 0, 0);
    r.split = item.section('/', 1, 1);
    r.row = item.section('/', 2, 2).toInt();
    if (!r.pixels.isNull()) return r;
  }
  for (const QUrl& url : mime->urls())
    if (url.isLocalFile()) return ImageRequest::file(url.toLocalFile());
  if (mime->hasImage()) {
    const QImage image = qvariant_cast<QImage>(mime->imageData());
    if (!image.isNull()) return ImageRequest::image(image, tr("dropped image"));
  }
  return std::nullopt;
}

void PatchSourceSlot::dragEnterEvent(QDragEnterEvent* event) {
  const QMimeData* mime = event->mimeData();
  if (mime->hasFormat(kPatchRegionMime) || mime->hasFormat(kDatasetItemMime) || mime->hasUrls() || mime->hasImage())
    event->acceptProposedAction();
}

void PatchSourceSlot::dropEvent(QDropEvent* event) {
  const QMimeData* mime = event->mimeData();
  if (mime->hasFormat(kPatchRegionMime)) {
    const QList<QByteArray> parts = mime->data(kPatchRegionMime).split(',');
    if (parts.size() == 4) {
      emit regionDropped(QRect(QPoint(parts[1].toInt(), parts[0].toInt()), QPoint(parts[3].toInt(), parts[2].toInt())));
      event->acceptProposedAction();
    }
    return;
  }
  if (const auto request = requestFromMime(mime)) {
    event->acceptProposedAction();
    emit requestDropped(*request);
  }
}

}  // namespace prisma::app
