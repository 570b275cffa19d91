#pragma once
// One source of the patching board (clean or corrupted): accepts an image dropped from
// the file manager (file URLs, including FILE.safetensors:KEY:INDEX specs), from the
// images panel (kDatasetItemMime), any other image drag, or a patch region dragged from
// the clean slot; shows the image, the model's top-k and the metric on this run. A dropped
// image shows at once (its pixels, or the file decoded here); the model's input, with its
// patch grid, replaces it once the pair has run.

#include "app/explorer/ExplorerTypes.h"
#include "app/explorer/patching/PatchingTypes.h"

#include <QFrame>

#include <optional>

class QLabel;
class QMimeData;

namespace prisma::widgets {
class TopKBars;
}

namespace prisma::app {

class PatchImageView;

class PatchSourceSlot : public QFrame {
  Q_OBJECT

public:
  PatchSourceSlot(const QString& role, QWidget* parent = nullptr);

  void setRequest(const ImageRequest& request);
  bool hasRequest() const { return hasRequest_; }
  const ImageRequest& request() const { return request_; }
  // Identifies the image for the results cache: its spec, dataset item, or pixels.
  QString sourceKey() const;

  void setInfo(const PatchSourceInfo& info, int gridRows, int gridCols, bool hasCls);
  void clearInfo();
  // Drops what the model said about the image (top-k, metric); the image stays.
  void clearResults();
  void setMetricText(const QString& text);

  PatchImageView* imageView() const { return image_; }
  widgets::TopKBars* bars() const { return bars_; }
  QLabel* metricLabel() const { return metric_; }

  // What a drop of `mime` would give: an image request, or nothing.
  static std::optional<ImageRequest> requestFromMime(const QMimeData* mime);

signals:
  void requestDropped(const prisma::app::ImageRequest& request);
  void regionDropped(const QRect& patches);

protected:
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

private:
  void showPreview();

  QLabel* title_ = nullptr;
  PatchImageView* image_ = nullptr;
  widgets::TopKBars* bars_ = nullptr;
  QLabel* metric_ = nullptr;
  QString role_;
  ImageRequest request_;
  bool hasRequest_ = false;
};

}  // namespace prisma::app
