#pragma once
// The large attention view: the model's input image with a heatmap over its patch grid.
// Hovering a patch reports it (the explorer makes it the query); patches can be outlined
// for linked highlighting (the query and key of a hovered pattern-matrix cell).

#include "widgets/ColorMap.h"
#include "widgets/PatchGridValues.h"

#include <QImage>
#include <QPoint>
#include <QWidget>

#include <optional>

namespace prisma::widgets {

class HeatmapView : public QWidget {
  Q_OBJECT

public:
  explicit HeatmapView(QWidget* parent = nullptr);

  void setImage(const QImage& image);
  void setHeat(const PatchGridValues& heat);
  // The values mapped to the colour map's ends (per-head or global normalisation is the
  // caller's choice).
  void setRange(double low, double high);
  void setColorMap(const ColorMap& map);
  void setOpacity(double opacity);  // of the heat layer, 0..1
  void setGridVisible(bool visible);
  void setQueryPatch(std::optional<QPoint> patch);  // (col, row) outlined, or none for CLS
  void setHighlightedPatches(const QVector<QPoint>& patches);  // (col, row)

  const PatchGridValues& heat() const { return heat_; }
  double rangeLow() const { return low_; }
  double rangeHigh() const { return high_; }
  double opacity() const { return opacity_; }
  // Where a patch is drawn, and which patch a widget position falls in (nullopt outside).
  QRect patchRect(int row, int col) const;
  std::optional<QPoint> patchAt(const QPoint& pos) const;  // (col, row)
  // The colour a patch's value is drawn with, before blending with the image.
  QColor heatColor(int row, int col) const;

  QSize sizeHint() const override { return {480, 480}; }
  QSize minimumSizeHint() const override { return {128, 128}; }

signals:
  void patchHovered(int row, int col);  // (-1, -1) when the mouse leaves the image
  void patchClicked(int row, int col);

protected:
  void paintEvent(QPaintEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void leaveEvent(QEvent* event) override;

private:
  QRect imageRect() const;
  void rebuildHeatImage();

  QImage image_;
  PatchGridValues heat_;
  QImage heatImage_;  // one pixel per patch, scaled without smoothing when painted
  ColorMap colorMap_;
  double low_ = 0.0, high_ = 1.0;
  double opacity_ = 0.6;
  bool gridVisible_ = true;
  std::optional<QPoint> query_;
  QVector<QPoint> highlighted_;
  std::optional<QPoint> hovered_;
};

}  // namespace prisma::widgets
