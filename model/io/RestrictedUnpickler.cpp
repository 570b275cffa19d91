// The restricted unpickler: a stack machine over pickle's binary opcodes (see Python's
// Lib/pickletools.py for the opcode reference) that builds plain values and refuses every
// global outside a state dict's vocabulary. Every read is bounds-checked, every count is
// capped, and nothing is ever called.

#include "model/io/RestrictedUnpickler.h"

#include "model/Error.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>

namespace prisma::io::pickle {

namespace {

// State dicts nest a handful of levels (checkpoint -> optimizer -> state -> param ->
// tensor -> args); anything this deep is hostile, and a bound keeps destruction shallow.
constexpr int kMaxDepth = 64;
// A ViT-B state dict with its AdamW state is ~10^4 values; 2^20 is far beyond any real
// checkpoint and bounds the memory a hostile pickle can make us allocate.
constexpr size_t kMaxValues = size_t(1) << 20;
constexpr size_t kMaxGlobalNameBytes = 256;
constexpr int kMaxIntegerBytes = 8;
constexpr int kHighestProtocol = 5;

constexpr const char* kStorageTypes[] = {
    "FloatStorage", "DoubleStorage", "HalfStorage",  "BFloat16Storage", "LongStorage",
    "IntStorage",   "ShortStorage",  "CharStorage",  "ByteStorage",     "BoolStorage"};

constexpr const char* kOrderedDict = "collections.OrderedDict";
constexpr const char* kRebuildTensorV2 = "torch._utils._rebuild_tensor_v2";
constexpr const char* kRebuildParameter = "torch._utils._rebuild_parameter";
constexpr const char* kRebuildParameterWithState = "torch._utils._rebuild_parameter_with_state";

bool isStorageGlobal(const std::string& qualified) {
  for (const char* s : kStorageTypes)
    if (qualified == std::string("torch.") + s) return true;
  return false;
}

bool isAllowedGlobal(const std::string& qualified) {
  return qualified == kOrderedDict || qualified == kRebuildTensorV2 || qualified == kRebuildParameter ||
         qualified == kRebuildParameterWithState || isStorageGlobal(qualified);
}

// Opcodes, named as in pickletools.
enum Op : unsigned char {
  MARK = '(', STOP = '.', POP = '0', POP_MARK = '1', DUP = '2', BININT = 'J', BININT1 = 'K',
  BININT2 = 'M', NONE = 'N', BINPERSID = 'Q', REDUCE = 'R', BINSTRING = 'T',
  SHORT_BINSTRING = 'U', BINUNICODE = 'X', APPEND = 'a', BUILD = 'b', GLOBAL = 'c',
  DICT = 'd', EMPTY_DICT = '}', APPENDS = 'e', BINGET = 'h', LONG_BINGET = 'j', LIST = 'l',
  EMPTY_LIST = ']', BINPUT = 'q', LONG_BINPUT = 'r', SETITEM = 's', TUPLE = 't',
  EMPTY_TUPLE = ')', SETITEMS = 'u', BINFLOAT = 'G', BINBYTES = 'B', SHORT_BINBYTES = 'C',
  PROTO = 0x80, TUPLE1 = 0x85, TUPLE2 = 0x86, TUPLE3 = 0x87, NEWTRUE = 0x88,
  NEWFALSE = 0x89, LONG1 = 0x8a, LONG4 = 0x8b, SHORT_BINUNICODE = 0x8c, BINUNICODE8 = 0x8d,
  BINBYTES8 = 0x8e, STACK_GLOBAL = 0x93, MEMOIZE = 0x94, FRAME = 0x95,
  NEWOBJ = 0x81, NEWOBJ_EX = 0x92
};

class Machine {
public:
  Machine(const unsigned char* data, size_t size, const std::string& source,
          const std::vector<std::string>& data_classes)
      : data_(data), size_(size), source_(source), data_classes_(data_classes) {}

  ValuePtr run() {
    while (true) {
      const size_t at = pos_;
      const unsigned char op = u8();
      switch (op) {
        case PROTO: {
          const int proto = u8();
          if (proto > kHighestProtocol) fail("pickle protocol " + std::to_string(proto) + " is newer than 5");
          break;
        }
        case FRAME: uint(8); break;  // a framing hint only; the data follows inline
        case STOP: {
          ValuePtr result = pop();
          return result;
        }
        case MARK: marks_.push_back(stack_.size()); break;
        case POP:
          if (!marks_.empty() && marks_.back() == stack_.size()) marks_.pop_back();
          else pop();
          break;
        case POP_MARK: popToMark(); break;
        case DUP: push(top()); break;
        case NONE: push(make(Value::Kind::None)); break;
        case NEWTRUE: case NEWFALSE: {
          ValuePtr v = make(Value::Kind::Bool);
          v->boolean = op == NEWTRUE;
          push(v);
          break;
        }
        case BININT: pushInt(static_cast<int32_t>(static_cast<uint32_t>(uint(4)))); break;
        case BININT1: pushInt(u8()); break;
        case BININT2: pushInt(static_cast<int64_t>(uint(2))); break;
        case LONG1: pushInt(longBytes(u8())); break;
        case LONG4: {
          const uint64_t n = uint(4);
          if (n > kMaxIntegerBytes) fail("integer wider than 64 bits");
          pushInt(longBytes(static_cast<int>(n)));
          break;
        }
        case BINFLOAT: {
          const uint64_t bits = uintBigEndian(8);
          ValuePtr v = make(Value::Kind::Float);
          std::memcpy(&v->real, &bits, sizeof bits);
          push(v);
          break;
        }
        case BINUNICODE: pushText(Value::Kind::String, uint(4)); break;
        case SHORT_BINUNICODE: pushText(Value::Kind::String, u8()); break;
        case BINUNICODE8: pushText(Value::Kind::String, uint(8)); break;
        case BINSTRING: pushText(Value::Kind::String, uint(4)); break;
        case SHORT_BINSTRING: pushText(Value::Kind::String, u8()); break;
        case BINBYTES: pushText(Value::Kind::Bytes, uint(4)); break;
        case SHORT_BINBYTES: pushText(Value::Kind::Bytes, u8()); break;
        case BINBYTES8: pushText(Value::Kind::Bytes, uint(8)); break;
        case EMPTY_TUPLE: push(container(Value::Kind::Tuple, {})); break;
        case TUPLE: push(container(Value::Kind::Tuple, popToMark())); break;
        case TUPLE1: case TUPLE2: case TUPLE3: {
          const size_t n = op - TUPLE1 + 1;
          if (stack_.size() < n + stackFloor()) fail("stack underflow");
          std::vector<ValuePtr> items(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
          stack_.resize(stack_.size() - n);
          push(container(Value::Kind::Tuple, std::move(items)));
          break;
        }
        case EMPTY_LIST: push(container(Value::Kind::List, {})); break;
        case LIST: push(container(Value::Kind::List, popToMark())); break;
        case APPEND: {
          ValuePtr item = pop();
          append(mutableTop(Value::Kind::List, "APPEND"), {item});
          break;
        }
        case APPENDS: {
          auto items = popToMark();
          append(mutableTop(Value::Kind::List, "APPENDS"), items);
          break;
        }
        case EMPTY_DICT: push(make(Value::Kind::Dict)); break;
        case DICT: {
          ValuePtr d = make(Value::Kind::Dict);
          setItems(d, popToMark());
          push(d);
          break;
        }
        case SETITEM: {
          ValuePtr value = pop();
          ValuePtr key = pop();
          setItems(mutableTop(Value::Kind::Dict, "SETITEM"), {key, value});
          break;
        }
        case SETITEMS: {
          auto items = popToMark();
          setItems(mutableTop(Value::Kind::Dict, "SETITEMS"), items);
          break;
        }
        case BINPUT: memoPut(u8()); break;
        case LONG_BINPUT: memoPut(uint(4)); break;
        case MEMOIZE: memoPut(memo_.size()); break;
        case BINGET: memoGet(u8()); break;
        case LONG_BINGET: memoGet(uint(4)); break;
        case GLOBAL: {
          const std::string module = line();
          const std::string name = line();
          pushGlobal(module, name);
          break;
        }
        case STACK_GLOBAL: {
          ValuePtr name = pop();
          ValuePtr module = pop();
          if (module->kind != Value::Kind::String || name->kind != Value::Kind::String)
            fail("STACK_GLOBAL needs two strings");
          pushGlobal(module->text, name->text);
          break;
        }
        case BINPERSID: push(persistentLoad(pop())); break;
        case REDUCE: {
          ValuePtr args = pop();
          ValuePtr callable = pop();
          push(reduce(callable, args));
          break;
        }
        case BUILD: {
          ValuePtr state = pop();
          build(top(), state);
          break;
        }
        case NEWOBJ: {
          ValuePtr args = pop();
          ValuePtr cls = pop();
          push(newDataObject(cls, args, nullptr));
          break;
        }
        case NEWOBJ_EX: {
          ValuePtr kwargs = pop();
          ValuePtr args = pop();
          ValuePtr cls = pop();
          push(newDataObject(cls, args, kwargs));
          break;
        }
        default: {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", op);
          pos_ = at;
          fail(std::string("unsupported opcode ") + hex +
               " (only the binary opcodes a state dict uses are read; objects, sets and text "
               "protocols are refused)");
        }
      }
    }
  }

private:
  [[noreturn]] void fail(const std::string& message) const {
    throw Error(source_, "data.pkl", message + " (at byte " + std::to_string(pos_) + ")");
  }

  // ---- reading -------------------------------------------------------------------
  void need(uint64_t n) const {
    if (n > size_ - pos_) fail("truncated pickle: needs " + std::to_string(n) + " more bytes");
  }
  unsigned char u8() {
    need(1);
    return data_[pos_++];
  }
  uint64_t uint(int bytes) {
    need(static_cast<uint64_t>(bytes));
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(data_[pos_ + i]) << (8 * i);
    pos_ += static_cast<size_t>(bytes);
    return v;
  }
  uint64_t uintBigEndian(int bytes) {
    need(static_cast<uint64_t>(bytes));
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | data_[pos_ + i];
    pos_ += static_cast<size_t>(bytes);
    return v;
  }
  // LONG1/LONG4: little-endian two's complement of n bytes.
  int64_t longBytes(int n) {
    if (n > kMaxIntegerBytes) fail("integer wider than 64 bits");
    if (n == 0) return 0;
    uint64_t v = uint(n);
    if (n < kMaxIntegerBytes && (v >> (8 * n - 1)) & 1) v |= ~uint64_t(0) << (8 * n);  // sign-extend
    return static_cast<int64_t>(v);
  }
  std::string line() {
    const size_t start = pos_;
    while (true) {
      if (pos_ - start > kMaxGlobalNameBytes) fail("GLOBAL name too long");
      if (u8() == '\n') break;
    }
    return std::string(reinterpret_cast<const char*>(data_ + start), pos_ - start - 1);
  }

  // ---- values --------------------------------------------------------------------
  ValuePtr make(Value::Kind kind) {
    if (++created_ > kMaxValues)
      fail("more than " + std::to_string(kMaxValues) + " objects: not a state dict");
    auto v = std::make_shared<Value>();
    v->kind = kind;
    return v;
  }
  void adopt(Value& parent, const ValuePtr& child) {
    if (child.get() == &parent) fail("a container contains itself");
    child->frozen = true;
    parent.depth = std::max(parent.depth, child->depth + 1);
    if (parent.depth > kMaxDepth) fail("values nested deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  ValuePtr container(Value::Kind kind, std::vector<ValuePtr> items) {
    ValuePtr v = make(kind);
    for (const auto& item : items) adopt(*v, item);
    v->items = std::move(items);
    return v;
  }
  void append(const ValuePtr& list, const std::vector<ValuePtr>& items) {
    for (const auto& item : items) {
      adopt(*list, item);
      list->items.push_back(item);
    }
  }
  void setItems(const ValuePtr& dict, const std::vector<ValuePtr>& flat) {
    if (flat.size() % 2 != 0) fail("odd number of items for a dict");
    for (size_t i = 0; i < flat.size(); i += 2) {
      const auto k = flat[i]->kind;
      if (k == Value::Kind::List || k == Value::Kind::Dict) fail("unhashable dict key");
      adopt(*dict, flat[i]);
      adopt(*dict, flat[i + 1]);
      // Later duplicates win, as in Python; Value::find looks from the end.
      dict->entries.emplace_back(flat[i], flat[i + 1]);
    }
  }
  void pushInt(int64_t n) {
    ValuePtr v = make(Value::Kind::Int);
    v->integer = n;
    push(v);
  }
  void pushText(Value::Kind kind, uint64_t n) {
    need(n);
    ValuePtr v = make(kind);
    v->text.assign(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    push(v);
  }
  bool isDataClass(const std::string& qualified) const {
    return std::find(data_classes_.begin(), data_classes_.end(), qualified) != data_classes_.end();
  }
  void pushGlobal(const std::string& module, const std::string& name) {
    const std::string qualified = module + "." + name;
    if (!isAllowedGlobal(qualified) && !isDataClass(qualified))
      throw Error(source_, qualified,
                  "forbidden global in the pickle: only a state dict's own types are loaded "
                  "(OrderedDict, tensors, storages); this file wants to call or construct "
                  "something else, which could run code, so it is refused");
    ValuePtr v = make(Value::Kind::Global);
    v->text = qualified;
    push(v);
  }

  // ---- stack and memo ------------------------------------------------------------
  size_t stackFloor() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(ValuePtr v) { stack_.push_back(std::move(v)); }
  ValuePtr pop() {
    if (stack_.size() <= stackFloor()) fail("stack underflow");
    ValuePtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  const ValuePtr& top() const {
    if (stack_.size() <= stackFloor()) fail("stack underflow");
    return stack_.back();
  }
  std::vector<ValuePtr> popToMark() {
    if (marks_.empty()) fail("no MARK on the stack");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }
  ValuePtr mutableTop(Value::Kind kind, const char* op) {
    ValuePtr v = top();
    if (v->kind != kind) fail(std::string(op) + " on a " + v->kindName());
    if (v->frozen) fail(std::string(op) + " modifies a container already inside another value");
    return v;
  }
  void memoPut(uint64_t index) {
    if (memo_.size() >= kMaxValues && !memo_.count(index)) fail("memo too large");
    memo_[index] = top();
  }
  void memoGet(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) fail("memo entry " + std::to_string(index) + " was never stored");
    push(it->second);
  }

  // ---- the few callables ---------------------------------------------------------
  static bool isIntTuple(const Value& v) {
    if (v.kind != Value::Kind::Tuple) return false;
    for (const auto& i : v.items)
      if (i->kind != Value::Kind::Int) return false;
    return true;
  }

  // torch.save writes ('storage', torch.XStorage, key, location, numel).
  ValuePtr persistentLoad(const ValuePtr& pid) {
    const auto& it = pid->items;
    if (pid->kind != Value::Kind::Tuple || it.size() != 5 || it[0]->kind != Value::Kind::String ||
        it[0]->text != "storage")
      fail("persistent id is not a ('storage', type, key, location, size) tuple");
    if (it[1]->kind != Value::Kind::Global || !isStorageGlobal(it[1]->text)) fail("persistent id names no storage type");
    if (it[2]->kind != Value::Kind::String || it[3]->kind != Value::Kind::String || it[4]->kind != Value::Kind::Int ||
        it[4]->integer < 0)
      fail("malformed storage persistent id");
    auto ref = std::make_shared<TensorRef>();
    ref->storage_type = it[1]->text.substr(std::strlen("torch."));
    ref->storage_key = it[2]->text;
    ref->storage_numel = it[4]->integer;
    ValuePtr v = make(Value::Kind::Storage);
    v->tensor = std::move(ref);
    return v;
  }

  ValuePtr reduce(const ValuePtr& callable, const ValuePtr& args) {
    if (callable->kind != Value::Kind::Global) fail("REDUCE on a " + callable->kindName() + ", not a callable");
    if (args->kind != Value::Kind::Tuple) fail("REDUCE arguments are not a tuple");
    const auto& a = args->items;
    const std::string& fn = callable->text;
    if (fn == kOrderedDict) {
      ValuePtr d = make(Value::Kind::Dict);
      if (a.empty()) return d;
      if (a.size() != 1 || a[0]->kind != Value::Kind::List) fail("OrderedDict takes one list of pairs");
      std::vector<ValuePtr> flat;
      for (const auto& pair : a[0]->items) {
        if ((pair->kind != Value::Kind::Tuple && pair->kind != Value::Kind::List) || pair->items.size() != 2)
          fail("OrderedDict items must be pairs");
        flat.push_back(pair->items[0]);
        flat.push_back(pair->items[1]);
      }
      setItems(d, flat);
      return d;
    }
    if (fn == kRebuildTensorV2) {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      if (a.size() != 6 && a.size() != 7) fail("_rebuild_tensor_v2 takes 6 or 7 arguments");
      if (a[0]->kind != Value::Kind::Storage) fail("_rebuild_tensor_v2: argument 0 is not a storage");
      if (a[1]->kind != Value::Kind::Int || a[1]->integer < 0) fail("_rebuild_tensor_v2: bad storage offset");
      if (!isIntTuple(*a[2]) || !isIntTuple(*a[3]) || a[2]->items.size() != a[3]->items.size())
        fail("_rebuild_tensor_v2: size and stride must be integer tuples of one length");
      auto ref = std::make_shared<TensorRef>(*a[0]->tensor);
      ref->offset = a[1]->integer;
      for (const auto& s : a[2]->items) ref->size.push_back(s->integer);
      for (const auto& s : a[3]->items) ref->stride.push_back(s->integer);
      ValuePtr v = make(Value::Kind::Tensor);
      v->tensor = std::move(ref);
      return v;
    }
    if (fn == kRebuildParameter || fn == kRebuildParameterWithState) {
      // (data, requires_grad, backward_hooks[, state]): a Parameter is its data here.
      if (a.size() < 3 || a[0]->kind != Value::Kind::Tensor) fail(fn + ": argument 0 is not a tensor");
      return a[0];
    }
    fail("'" + fn + "' cannot be called");  // storages only appear in persistent ids
  }

  // BUILD sets an object's attributes. The one legitimate case here is an OrderedDict's
  // `_metadata` (every Hugging Face .bin and nn.Module.state_dict() has it); it is not
  // needed, so the state is checked for shape and dropped.
  void build(const ValuePtr& target, const ValuePtr& state) {
    if (target->kind == Value::Kind::Dict && !target->object_class.empty()) {
      // A data class instance: its __dict__ becomes the record's entries, once.
      if (state->kind != Value::Kind::Dict) fail("BUILD state of " + target->object_class + " is not a dict");
      if (target->frozen || !target->entries.empty()) fail("BUILD twice on " + target->object_class);
      std::vector<ValuePtr> flat;
      for (const auto& [k, v] : state->entries) {
        if (k->kind != Value::Kind::String) fail("attribute name of " + target->object_class + " is not a string");
        flat.push_back(k);
        flat.push_back(v);
      }
      setItems(target, flat);
      return;
    }
    if (target->kind != Value::Kind::Dict)
      fail("BUILD on a " + target->kindName() + " (only OrderedDict attributes such as _metadata are accepted)");
    if (state->kind != Value::Kind::Dict && state->kind != Value::Kind::None)
      fail("BUILD state is a " + state->kindName() + ", not an attribute dict");
    adopt(*target, state);
  }

  const unsigned char* data_;
  size_t size_;
  size_t pos_ = 0;
  // NEWOBJ(_EX) of an allow-listed data class: an empty record that BUILD fills. Nothing is
  // constructed; arguments would be constructor input, so there must be none.
  ValuePtr newDataObject(const ValuePtr& cls, const ValuePtr& args, const ValuePtr& kwargs) {
    if (cls->kind != Value::Kind::Global || !isDataClass(cls->text))
      fail("NEWOBJ of a " + cls->kindName() + ", not an allow-listed data class");
    if (args->kind != Value::Kind::Tuple || !args->items.empty())
      fail("NEWOBJ of " + cls->text + " with constructor arguments");
    if (kwargs && (kwargs->kind != Value::Kind::Dict || !kwargs->entries.empty()))
      fail("NEWOBJ_EX of " + cls->text + " with keyword arguments");
    ValuePtr v = make(Value::Kind::Dict);
    v->object_class = cls->text;
    return v;
  }

  const std::string& source_;
  const std::vector<std::string>& data_classes_;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::map<uint64_t, ValuePtr> memo_;
  size_t created_ = 0;
};

}  // namespace

const Value* Value::find(const std::string& key) const {
  for (auto it = entries.rbegin(); it != entries.rend(); ++it)
    if (it->first->kind == Kind::String && it->first->text == key) return it->second.get();
  return nullptr;
}

std::string Value::kindName() const {
  switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Global: return "global " + text;
    case Kind::Storage: return "storage";
    case Kind::Tensor: return "tensor";
  }
  return "?";
}

ValuePtr unpickle(const unsigned char* data, size_t size, const std::string& source,
                  const std::vector<std::string>& data_classes) {
  Machine m(data, size, source, data_classes);
  return m.run();
}

}  // namespace prisma::io::pickle
