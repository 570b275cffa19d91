#pragma once
// The layers x heads grid of attention thumbnails: every head's attention for the current
// query over the image, on one shared colour range, drawn in a single widget so a hover
// repaints all of them in one pass. Extra rows (rollout, relevancy) may have one cell.
// Click selects (and opens large), arrow keys move between heads and layers.
// HeadGridScrollArea sizes the thumbnails to the space it has and scrolls when a big model
// (24 layers x 16 heads) would otherwise shrink them below a readable size.

#include "widgets/ColorMap.h"
#include "widgets/PatchGridValues.h"

#include <QImage>
#include <QScrollArea>
#include <QWidget>

#include <optional>

namespace prisma::widgets {

struct HeadGridRow {
  QString label;              // "L0", "rollout", ...
  QVector<PatchGridValues> cells;    // one per head (or one for a whole-model map)
  QStringList cellLabels;     // optional, e.g. "H3" after sorting by a head summary
  bool ownRange = false;      // each cell stretched to its own min..max (whole-model maps)
  QString toolTip = {};       // what the row shows, on hovering it
  bool showsQuery = true;     // the query patch is outlined (false: a map not from the query)
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
  // A header above each column ("H0", "H1", ...); empty for none.
  void setColumnHeaders(const QStringList& headers);
  // The query patch (col, row), outlined on every thumbnail of a row that shows it.
  void setQueryPatch(std::optional<QPoint> patch);

  int rowCount() const { return rows_.size(); }
  int columnCount(int row) const { return row >= 0 && row < rows_.size() ? rows_[row].cells.size() : 0; }
  const HeadGridRow& row(int r) const { return rows_[r]; }
  QStringList columnHeaders() const { return headers_; }
  std::optional<QPoint> queryPatch() const { return query_; }
  QPoint selected() const { return selected_; }  // (column, row), (-1, -1) when none
  void setSelected(int row, int column);
  QRect cellRect(int row, int column) const;
  // Where a cell's label box is drawn (inside the cell), empty when it has none.
  QRect cellLabelRect(int row, int column) const;
  // The colour a cell's patch value is drawn with (shared or per-cell range), for tests.
  QColor cellColor(int row, int column, int patchRow, int patchCol) const;

  // The thumbnail side for an area: everything fits when that leaves thumbnails of a
  // comfortable size; otherwise they fill the width and the grid grows taller (to scroll).
  int fittedCellSize(const QSize& area) const;
  QSize sizeForCell(int side) const;  // the widget size that gives thumbnails of `side`

  QSize sizeHint() const override;
  QSize minimumSizeHint() const override;  // every cell at its smallest

signals:
  void cellSelected(int row, int column);
  void cellActivated(int row, int column);  // double-click or Enter: open large
  void contentChanged();                    // rows or headers: the layout may change

protected:
  bool event(QEvent* event) override;
  void paintEvent(QPaintEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseDoubleClickEvent(QMouseEvent* event) override;
  void keyPressEvent(QKeyEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;

private:
  void rebuildThumbnails();
  int maxColumns() const;
  int labelWidth() const;  // fits the longest row label
  int headerHeight() const;
  QFont cellLabelFont() const;
  QString shownCellLabel(int row, int column) const;  // elided to the cell, or empty
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
  QStringList headers_;
  std::optional<QPoint> query_;
  QPoint selected_{-1, -1};
};

// A HeadGrid in a scroll area that gives it the viewport's width and, when the rows do
// not fit at a comfortable size, the height they need; the selection is kept in view.
class HeadGridScrollArea : public QScrollArea {
  Q_OBJECT

public:
  explicit HeadGridScrollArea(HeadGrid* grid, QWidget* parent = nullptr);
  HeadGrid* grid() const { return grid_; }

  QSize sizeHint() const override;
  QSize minimumSizeHint() const override;

protected:
  void resizeEvent(QResizeEvent* event) override;

private:
  void relayout();

  HeadGrid* grid_;
};

}  // namespace prisma::widgets
