#pragma once
// One head's full attention pattern, query x key, as a matrix. Hovering a cell reports its
// query and key tokens so the image view can light up both patches (linked highlighting).

#include "widgets/ColorMap.h"

#include <QImage>
#include <QWidget>

namespace prisma::widgets {

class PatternMatrixView : public QWidget {
  Q_OBJECT

public:
  explicit PatternMatrixView(QWidget* parent = nullptr);

  // `values` is [tokens * tokens], row = query, column = key.
  void setPattern(int tokens, const QVector<float>& values);
  void setColorMap(const ColorMap& map);
  void setRange(double low, double high);

  int tokens() const { return tokens_; }
  QRect cellRect(int query, int key) const;

  QSize sizeHint() const override { return {360, 360}; }

signals:
  void cellHovered(int query, int key);  // (-1, -1) when leaving

protected:
  void paintEvent(QPaintEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void leaveEvent(QEvent* event) override;

private:
  void rebuild();
  QRect matrixRect() const;

  int tokens_ = 0;
  QVector<float> values_;
  QImage image_;
  ColorMap map_;
  double low_ = 0.0, high_ = 1.0;
  QPoint hovered_{-1, -1};
};

}  // namespace prisma::widgets
