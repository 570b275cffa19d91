#pragma once
// A vertical colour bar with the values at its ends and middle, shared by a set of
// heatmaps drawn on the same range. It can also mark where the data lies on that range
// (a bracket beside the bar): a nearly uniform map on a 0-1 scale shows as a short bracket,
// so the reader sees the spread the colours hide or exaggerate.

#include "widgets/ColorMap.h"

#include <QWidget>

#include <optional>
#include <utility>

namespace prisma::widgets {

class ColorBar : public QWidget {
  Q_OBJECT

public:
  explicit ColorBar(QWidget* parent = nullptr);

  void setColorMap(const ColorMap& map);
  void setRange(double low, double high);
  void setLabel(const QString& label);
  // Words instead of numbers at the low, middle and high ticks (e.g. "min", "", "max" when
  // every map is stretched to its own range); empty for the numbers.
  void setTickTexts(const QStringList& texts);
  // The smallest and largest value actually drawn; nullopt hides the bracket.
  void setDataRange(std::optional<std::pair<double, double>> range);

  double low() const { return low_; }
  double high() const { return high_; }
  QString label() const { return label_; }
  std::optional<std::pair<double, double>> dataRange() const { return data_; }
  // The text drawn for a value (3 significant digits), exposed for tests.
  static QString formatValue(double value);
  // Where a value sits on the bar (widget y), for tests and the data bracket.
  int yOf(double value) const;

  QSize sizeHint() const override { return {76, 240}; }
  QSize minimumSizeHint() const override { return {60, 96}; }

protected:
  void paintEvent(QPaintEvent* event) override;

private:
  QRect barRect() const;
  void updateToolTip();

  ColorMap map_;
  double low_ = 0.0, high_ = 1.0;
  QString label_;
  QStringList tickTexts_;
  std::optional<std::pair<double, double>> data_;
};

}  // namespace prisma::widgets
