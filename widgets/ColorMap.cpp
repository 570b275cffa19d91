#include "widgets/ColorMap.h"

#include <algorithm>
#include <cmath>

namespace prisma::widgets {
namespace {

// Control points sampled from matplotlib's maps at t = 0, 1/8, ..., 1.
const QVector<QColor>& viridisStops() {
  static const QVector<QColor> stops = {
      QColor(68, 1, 84),    QColor(71, 44, 122),  QColor(59, 81, 139),
      QColor(44, 113, 142), QColor(33, 144, 141), QColor(39, 173, 129),
      QColor(92, 200, 99),  QColor(170, 220, 50), QColor(253, 231, 37)};
  return stops;
}

const QVector<QColor>& magmaStops() {
  static const QVector<QColor> stops = {
      QColor(0, 0, 4),      QColor(28, 16, 68),   QColor(79, 18, 123),
      QColor(129, 37, 129), QColor(181, 54, 122), QColor(229, 80, 100),
      QColor(251, 135, 97), QColor(254, 194, 135), QColor(252, 253, 191)};
  return stops;
}

const QVector<QColor>& divergingStops() {
  static const QVector<QColor> stops = {QColor(5, 48, 97),    QColor(67, 147, 195),
                                        QColor(247, 247, 247), QColor(214, 96, 77),
                                        QColor(103, 0, 31)};
  return stops;
}

const QVector<QColor>& greyStops() {
  static const QVector<QColor> stops = {QColor(0, 0, 0), QColor(255, 255, 255)};
  return stops;
}

}  // namespace

ColorMap::ColorMap(Kind kind) : kind_(kind) {
  const QVector<QColor>* stops = &viridisStops();
  switch (kind) {
    case Kind::Viridis: stops = &viridisStops(); break;
    case Kind::Magma: stops = &magmaStops(); break;
    case Kind::Diverging: stops = &divergingStops(); break;
    case Kind::Grey: stops = &greyStops(); break;
  }
  // Linear interpolation between evenly spaced control points.
  lut_.reserve(kLevels);
  for (int i = 0; i < kLevels; ++i) {
    const double pos = double(i) / (kLevels - 1) * (stops->size() - 1);
    const int k = std::min(static_cast<int>(pos), static_cast<int>(stops->size()) - 2);
    const double f = pos - k;
    const QColor& a = (*stops)[k];
    const QColor& b = (*stops)[k + 1];
    auto mix = [f](int x, int y) { return static_cast<int>(std::lround(x + (y - x) * f)); };
    lut_.push_back(qRgb(mix(a.red(), b.red()), mix(a.green(), b.green()), mix(a.blue(), b.blue())));
  }
}

QRgb ColorMap::rgbaAt(double t) const {
  if (std::isnan(t)) return qRgba(0, 0, 0, 0);
  t = std::clamp(t, 0.0, 1.0);
  return lut_[static_cast<int>(std::lround(t * (kLevels - 1)))];
}

QRgb ColorMap::mapRgba(double value, double low, double high) const {
  if (kind_ == Kind::Diverging) {
    const double extent = std::max(std::abs(low), std::abs(high));
    if (extent <= 0.0) return rgbaAt(0.5);
    return rgbaAt(0.5 + 0.5 * value / extent);
  }
  if (high <= low) return rgbaAt(0.0);
  return rgbaAt((value - low) / (high - low));
}

QString ColorMap::name() const {
  switch (kind_) {
    case Kind::Viridis: return QStringLiteral("viridis");
    case Kind::Magma: return QStringLiteral("magma");
    case Kind::Diverging: return QStringLiteral("diverging");
    case Kind::Grey: return QStringLiteral("grey");
  }
  return QStringLiteral("viridis");
}

ColorMap ColorMap::fromName(const QString& name) {
  if (name == QLatin1String("magma")) return ColorMap(Kind::Magma);
  if (name == QLatin1String("diverging")) return ColorMap(Kind::Diverging);
  if (name == QLatin1String("grey")) return ColorMap(Kind::Grey);
  return ColorMap(Kind::Viridis);
}

}  // namespace prisma::widgets
