#include "app/explorer/ClassListDialog.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QVBoxLayout>

namespace prisma::app {

namespace {
const char* const kPlaceholder = "{}";
}

ClassListDialog::ClassListDialog(QWidget* parent) : QDialog(parent) {
  setObjectName(QStringLiteral("classListDialog"));
  setWindowTitle(tr("Zero-shot classes"));
  classes_ = new QPlainTextEdit(this);
  classes_->setObjectName(QStringLiteral("classesEdit"));
  classes_->setPlaceholderText(tr("One class per line, e.g.\ncat\ndog\nrocket\n\nEmpty: ImageNet-1k's 1,000 classes."));
  template_ = new QLineEdit(this);
  template_->setObjectName(QStringLiteral("templateEdit"));
  hint_ = new QLabel(this);
  hint_->setObjectName(QStringLiteral("templateHint"));
  hint_->setWordWrap(true);
  buttons_ = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  QPushButton* imagenet = buttons_->addButton(tr("ImageNet-1k"), QDialogButtonBox::ResetRole);
  imagenet->setToolTip(tr("Clear the list: the zero-shot head uses ImageNet-1k's classes"));
  connect(imagenet, &QPushButton::clicked, classes_, &QPlainTextEdit::clear);
  connect(buttons_, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons_, &QDialogButtonBox::rejected, this, &QDialog::reject);
  connect(template_, &QLineEdit::textChanged, this, &ClassListDialog::validate);

  auto* form = new QFormLayout;
  form->addRow(tr("Template"), template_);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(new QLabel(tr("Classes (each becomes the prompt the template makes of it):"), this));
  layout->addWidget(classes_);
  layout->addLayout(form);
  layout->addWidget(hint_);
  layout->addWidget(buttons_);
  validate();
}

void ClassListDialog::setClasses(const QStringList& classes) { classes_->setPlainText(classes.join('\n')); }

void ClassListDialog::setTemplate(const QString& tmpl) { template_->setText(tmpl); }

QStringList ClassListDialog::classes() const {
  QStringList out;
  for (const QString& line : classes_->toPlainText().split('\n')) {
    const QString c = line.trimmed();
    if (!c.isEmpty()) out << c;
  }
  return out;
}

QString ClassListDialog::templateText() const { return template_->text(); }

// Without "{}" every class would get the same prompt, and every logit would be equal.
void ClassListDialog::validate() {
  const bool ok = template_->text().contains(QLatin1String(kPlaceholder));
  hint_->setText(ok ? tr("Prompt of a class: the template with {} replaced by its name.")
                    : tr("The template needs {} where the class name goes."));
  buttons_->button(QDialogButtonBox::Ok)->setEnabled(ok);
}

}  // namespace prisma::app
