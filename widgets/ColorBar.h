#pragma once
// A vertical colour bar with the values at its ends and middle, shared by a set of
// heatmaps drawn on the same range.

#include "widgets/ColorMap.h"

#include <QWidget>

namespace prisma::widgets {

class ColorBar : public QWidget {
  Q_OBJECT

public:
  explicit ColorBar(QWidget* parent = nullptr);

  void setColorMap(const ColorMap& map);
  void setRange(double low, double high);
  void setLabel(const QString& label);

  double low() const { return low_; }
  double high() const { return high_; }
  // The text drawn for a value (3 significant digits), exposed for tests.
  static QString formatValue(double value);

  QSize sizeHint() const override { return {72, 240}; }
  QSize minimumSizeHint() const override { return {56, 96}; }

protected:
  void paintEvent(QPaintEvent* event) override;

private:
  ColorMap map_;
  double low_ = 0.0, high_ = 1.0;
  QString label_;
};

}  // namespace prisma::widgets
