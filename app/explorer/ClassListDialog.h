#pragma once
// The class list of a CLIP's zero-shot head, as a user edits it: one class per line and
// the prompt template ("a photo of a {}."). An empty list means ImageNet-1k's classes.

#include <QDialog>
#include <QStringList>

class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;

namespace prisma::app {

class ClassListDialog : public QDialog {
  Q_OBJECT

public:
  explicit ClassListDialog(QWidget* parent = nullptr);

  void setClasses(const QStringList& classes);
  void setTemplate(const QString& tmpl);
  // The non-blank lines, trimmed; empty: ImageNet-1k.
  QStringList classes() const;
  QString templateText() const;

private:
  void validate();

  QPlainTextEdit* classes_;
  QLineEdit* template_;
  QLabel* hint_;
  QDialogButtonBox* buttons_;
};

}  // namespace prisma::app
