#pragma once
// The layers x heads grid of attention thumbnails: every head's attention for the current
// query over the image, on one shared colour range, drawn in a single widget so a hover
// repaints all of them in one pass. Extra rows (rollout, relevancy) may have one cell.
// Click selects (and opens large), arrow keys move between heads and layers.

#include "widgets/ColorMap.h"
#include "widgets/PatchGridValues.h"

#include <QImage>
#include <QWidget>

namespace prisma::widgets {

struct HeadGridRow {
  QString label;              // "L0", "rollout", ...
  QVector<PatchGridValues> cells;    // one per head (or one for a whole-model map)
  QStringList cellLabels;     // optional, e.g. "H3" after sorting by a head summary
  bool ownRange = false;      // each cell stretched to its own min..max (whole-model maps)
};

class HeadGrid : public QWidget {
  Q_OBJECT

public:
  explicit HeadGrid(QWidget* parent = nullptr);

  void setRows(const QVector<HeadGridRow>& rows);
  void setImage(const QImage& image);  // drawn under every thumbnail
  void setColorMap(const ColorMap& map);
  void setRange(double low, double high);
  // Per-cell normalisation stretches each thumbnail to its own min..max.
  void setPerCellNormalization(bool on);
  void setOpacity(double opacity);

  int rowCount() const { return rows_.size(); }
  int columnCount(int row) const { return row >= 0 && row < rows_.size() ? rows_[row].cells.size() : 0; }
  const HeadGridRow& row(int r) const { return rows_[r]; }
  QPoint selected() const { return selected_; }  // (column, row), (-1, -1) when none
  void setSelected(int row, int column);
  QRect cellRect(int row, int column) const;
  // The colour a cell's patch value is drawn with (shared or per-cell range), for tests.
  QColor cellColor(int row, int column, int patchRow, int patchCol) const;

  QSize sizeHint() const override;
  QSize minimumSizeHint() const override;  // every cell at its smallest

signals:
  void cellSelected(int row, int column);
  void cellActivated(int row, int column);  // double-click or Enter: open large

protected:
  void paintEvent(QPaintEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseDoubleClickEvent(QMouseEvent* event) override;
  void keyPressEvent(QKeyEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;

private:
  void rebuildThumbnails();
  int maxColumns() const;
  int labelWidth() const;  // fits the longest row label
  int cellSize() const;
  QPoint cellAt(const QPoint& pos) const;  // (column, row) or (-1, -1)
  std::pair<double, double> rangeFor(const HeadGridRow& row, const PatchGridValues& cell) const;

  QVector<HeadGridRow> rows_;
  QVector<QVector<QImage>> thumbnails_;  // one pixel per patch
  QImage image_;
  QImage scaledImage_;  // cached at the cell size
  ColorMap map_;
  double low_ = 0.0, high_ = 1.0;
  bool perCell_ = false;
  double opacity_ = 0.75;
  QPoint selected_{-1, -1};
};

}  // namespace prisma::widgets
