#pragma once
// Colour maps for heatmaps: sequential (viridis, for attention in [0, 1]) and diverging
// (blue-white-red, centred on 0, for normalised patching metrics).

#include <QColor>
#include <QString>
#include <QVector>

namespace prisma::widgets {

class ColorMap {
public:
  enum class Kind { Viridis, Magma, Diverging, Grey };

  explicit ColorMap(Kind kind = Kind::Viridis);

  // Colour at t in [0, 1]; values outside are clamped, NaN maps to transparent.
  // Quantised to kLevels steps (a lookup table, as matplotlib's maps are), which keeps
  // repainting a whole head grid on every hover cheap.
  QColor at(double t) const { return QColor::fromRgba(rgbaAt(t)); }
  QRgb rgbaAt(double t) const;

  // Colour of `value` on the range [low, high]. A diverging map puts 0 at its centre
  // whatever the range, so equal magnitudes get equal intensities on both sides.
  QColor map(double value, double low, double high) const { return QColor::fromRgba(mapRgba(value, low, high)); }
  QRgb mapRgba(double value, double low, double high) const;

  Kind kind() const { return kind_; }
  QString name() const;
  static ColorMap fromName(const QString& name);  // falls back to viridis

private:
  // An odd count puts t = 0.5 (a diverging map's zero) exactly on an entry.
  static constexpr int kLevels = 257;

  Kind kind_;
  QVector<QRgb> lut_;  // kLevels colours from the map's control points
};

}  // namespace prisma::widgets
