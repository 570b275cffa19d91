#pragma once
// One head's full attention pattern, query x key, as a matrix with labelled axes (CLS,
// registers, patch rows), its own colour bar on the range the matrix is drawn with, and a
// read-out of the hovered cell. Hovering a cell reports its query and key tokens so the
// image beside it can outline both patches (linked highlighting).

#include "widgets/ColorMap.h"

#include <QImage>
#include <QWidget>

namespace prisma::widgets {

class ColorBar;

class PatternMatrixView : public QWidget {
  Q_OBJECT

public:
  explicit PatternMatrixView(QWidget* parent = nullptr);

  // `values` is [tokens * tokens], row = query, column = key.
  void setPattern(int tokens, const QVector<float>& values);
  // Which token is which: [CLS][registers][patches, row-major over gridRows x gridCols].
  void setTokenLayout(bool hasCls, int registers, int gridRows, int gridCols);
  void setColorMap(const ColorMap& map);
  // The values mapped to the colour map's ends, for the matrix and its bar alike.
  void setRange(double low, double high);

  int tokens() const { return tokens_; }
  double rangeLow() const { return low_; }
  double rangeHigh() const { return high_; }
  ColorBar* colorBar() const { return bar_; }
  QRect cellRect(int query, int key) const;
  // "CLS", "register 0", "patch (row 2, col 3)".
  QString tokenName(int token) const;
  // "query … → key …: value" for the hovered cell, empty when none.
  QString hoverText() const;
  // The axis labels drawn, with the token each starts at (for tests).
  QVector<QPair<int, QString>> axisTicks() const;

  QSize sizeHint() const override { return {460, 400}; }
  QSize minimumSizeHint() const override { return {180, 160}; }

signals:
  void cellHovered(int query, int key);  // (-1, -1) when leaving

protected:
  void paintEvent(QPaintEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void leaveEvent(QEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;

private:
  struct Group {
    int first, count;
    QString label;
  };
  QVector<Group> groups() const;  // CLS, registers, one per patch row
  void rebuild();
  QRect matrixRect() const;
  int leftAxisWidth() const;
  int bottomAxisHeight() const;
  int readoutHeight() const;
  void setHovered(QPoint cell);

  int tokens_ = 0;
  QVector<float> values_;
  QImage image_;
  ColorMap map_;
  double low_ = 0.0, high_ = 1.0;
  bool hasCls_ = true;
  int registers_ = 0, gridRows_ = 0, gridCols_ = 0;
  QPoint hovered_{-1, -1};  // (key, query)
  ColorBar* bar_ = nullptr;
};

}  // namespace prisma::widgets
