#pragma once
// The model's input with one class per patch (the patch-level logit lens): each patch is
// tinted with its class's colour and labelled with the class index; hovering a patch
// names its class and score.

#include <QImage>
#include <QStringList>
#include <QWidget>

namespace prisma::widgets {

class PatchClassView : public QWidget {
  Q_OBJECT

public:
  explicit PatchClassView(QWidget* parent = nullptr);

  void setImage(const QImage& image);
  // `classes` and `scores` are [rows * cols], row-major; `names` indexes class names.
  void setClasses(int rows, int cols, const QVector<int>& classes, const QVector<float>& scores,
                  const QStringList& names);

  int classAt(int row, int col) const { return classes_.value(row * cols_ + col, -1); }
  QRect patchRect(int row, int col) const;
  // A distinct, stable colour per class index (golden-ratio hue steps).
  static QColor classColor(int cls);

  QSize sizeHint() const override { return {480, 480}; }

signals:
  void patchHovered(int row, int col);

protected:
  void paintEvent(QPaintEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;

private:
  QRect imageRect() const;

  QImage image_;
  int rows_ = 0, cols_ = 0;
  QVector<int> classes_;
  QVector<float> scores_;
  QStringList names_;
};

}  // namespace prisma::widgets
