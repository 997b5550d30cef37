// .pth checkpoints: a restricted unpickler over libtorch's zip reader.
//
// libtorch's own torch::pickle_load cannot read a state dict saved from
// Python: it turns collections.OrderedDict (what state_dict() returns) into
// None and then fails. So the pickle is interpreted here, accepting only the
// opcodes and globals a state dict needs, and building tensors from the
// archive's storage records. Nothing in a checkpoint is executed.
#include "shim/pth.h"

extern "C" {
#include "base/error.h"
}

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include <algorithm>
#include <functional>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

namespace {

const char EXPORT_FIX[] =
    "in Python, load the checkpoint and export only its tensors: "
    "torch.save(model.state_dict(), \"weights.pth\"), or better "
    "safetensors.torch.save_file(model.state_dict(), \"model.safetensors\")";

const char OBJECT_FIX[] =
    "in Python, where the model's class can be imported: model = torch.load(path), then export its weights "
    "with torch.save(model.state_dict(), \"weights.pth\") or, better, "
    "safetensors.torch.save_file(model.state_dict(), \"model.safetensors\")";
const char SCRIPT_FIX[] =
    "in Python: m = torch.jit.load(path), then "
    "safetensors.torch.save_file(m.state_dict(), \"model.safetensors\")";

// An error in the checkpoint itself; what() is the message, fix the hint.
struct BadFile : std::runtime_error {
    int status;
    const char *fix;
    BadFile(const std::string &m, const char *f = nullptr, int s = LAB_EUSAGE)
        : std::runtime_error(m), status(s), fix(f) {}
};

enum class Kind { None, Bool, Int, Float, Str, Bytes, Tuple, List, Dict, Tensor, Storage, Global, Object };

struct Val;
using ValP = std::shared_ptr<Val>;

struct Val {
    Kind kind = Kind::None;
    int64_t i = 0;
    double f = 0;
    std::string s;                             // Str, Bytes; Global: "module.name"; Object: its class's name
    std::vector<ValP> items;                   // Tuple, List; Object: its BUILD state (a dict), once built
    std::vector<std::pair<ValP, ValP>> dict;   // Dict, in insertion order
    at::Tensor tensor;                         // Tensor; Storage: 1-D, its whole storage
    int depth = 0;                             // nesting, bounded so freeing cannot overflow the stack
};

constexpr int kMaxDepth = 200;

ValP make(Kind k)
{
    auto v = std::make_shared<Val>();
    v->kind = k;
    return v;
}

const struct {
    const char *name;
    at::ScalarType type;
    st_dtype dtype;
} kStorages[] = {
    {"FloatStorage", at::kFloat, ST_F32},     {"DoubleStorage", at::kDouble, ST_F64},
    {"HalfStorage", at::kHalf, ST_F16},       {"BFloat16Storage", at::kBFloat16, ST_BF16},
    {"LongStorage", at::kLong, ST_I64},       {"IntStorage", at::kInt, ST_I32},
    {"ShortStorage", at::kShort, ST_I16},     {"CharStorage", at::kChar, ST_I8},
    {"ByteStorage", at::kByte, ST_U8},        {"BoolStorage", at::kBool, ST_BOOL},
};

bool storage_type(const std::string &global, at::ScalarType *type)
{
    for (const auto &s : kStorages)
        if (global == std::string("torch.") + s.name) {
            *type = s.type;
            return true;
        }
    return false;
}

st_dtype to_st(at::ScalarType t)
{
    for (const auto &s : kStorages)
        if (s.type == t)
            return s.dtype;
    return ST_DTYPE_COUNT;
}

const char *const kAllowedGlobals[] = {
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
};

// PTH_MODULES: the classes of an Ultralytics YOLOv8 checkpoint's module
// tree, resolved by name whichever module path they come from (8.0.x kept
// them in one flat ultralytics.nn.modules, later releases split it). They
// are never constructed: an instance is an empty record whose BUILD state
// (its __dict__) is kept, and only its _parameters / _buffers / _modules are
// ever read.
const char *const kTorchModules[] = {"Sequential", "ModuleList", "Conv2d",   "BatchNorm2d",
                                     "SiLU",       "MaxPool2d",  "Upsample", "Identity"};
const char *const kUltralyticsClasses[] = {"DetectionModel", "Conv", "C2f",    "Bottleneck", "SPPF",
                                           "Concat",         "Detect", "DFL", "IterableSimpleNamespace"};

bool module_class(const std::string &mod, const std::string &name)
{
    if (mod == "torch.nn.modules" || mod.rfind("torch.nn.modules.", 0) == 0) {
        for (const char *c : kTorchModules)
            if (name == c)
                return true;
        return false;
    }
    if (mod == "ultralytics" || mod.rfind("ultralytics.", 0) == 0)
        for (const char *c : kUltralyticsClasses)
            if (name == c)
                return true;
    return false;
}

const char MODULES_FIX[] =
    "lab reads only the module tree of a YOLOv8 checkpoint; for another model, export its weights in Python: "
    "safetensors.torch.save_file(YOLO(path).model.state_dict(), \"model.safetensors\") "
    "(from ultralytics import YOLO), then pass that file";

class Unpickler {
  public:
    // Returns a storage record's bytes (data/<key> in the zip), or throws.
    using RecordFn = std::function<std::tuple<at::DataPtr, size_t>(const std::string &key)>;

    Unpickler(const std::string &what, const std::vector<char> &data, RecordFn record, unsigned flags)
        : what_(what), data_(data), record_(std::move(record)), modules_((flags & PTH_MODULES) != 0) {}

    // A hostile pickle can make containers hold each other (through the
    // memo); emptying every container first frees them without leaks and
    // without deep recursion. Values returned by run() are dead after this.
    ~Unpickler()
    {
        std::vector<ValP> hold;
        for (auto &c : containers_) {
            for (auto &x : c->items)
                hold.push_back(std::move(x));
            for (auto &kv : c->dict) {
                hold.push_back(std::move(kv.first));
                hold.push_back(std::move(kv.second));
            }
            c->items.clear();
            c->dict.clear();
        }
    }

    ValP run()
    {
        for (;;) {
            size_t at = pos_;
            uint8_t op = u8();
            switch (op) {
            case 0x80: u8(); break;                  // PROTO
            case 0x95: bytes(8); break;              // FRAME
            case '.':                                // STOP
                if (stack_.size() != 1)
                    bad("the pickle ends with %zu values on its stack", stack_.size());
                return stack_.back();
            case '(': marks_.push_back(stack_.size()); break;
            case 'N': push(make(Kind::None)); break;
            case 0x88: case 0x89: { auto v = make(Kind::Bool); v->i = op == 0x88; push(v); break; }
            case 'J': { auto v = make(Kind::Int); v->i = (int32_t)le(4); push(v); break; }
            case 'K': { auto v = make(Kind::Int); v->i = (int64_t)le(1); push(v); break; }
            case 'M': { auto v = make(Kind::Int); v->i = (int64_t)le(2); push(v); break; }
            case 0x8a: push(long1()); break;
            case 'G': {
                uint64_t b = 0;
                for (int k = 0; k < 8; k++)
                    b = b << 8 | u8();
                auto v = make(Kind::Float);
                memcpy(&v->f, &b, 8);
                push(v);
                break;
            }
            case 'X': push(str(Kind::Str, le(4))); break;
            case 0x8c: push(str(Kind::Str, le(1))); break;
            case 0x8d: push(str(Kind::Str, le(8))); break;
            case 'T': push(str(Kind::Str, le(4))); break;
            case 'U': push(str(Kind::Str, le(1))); break;
            case 'B': push(str(Kind::Bytes, le(4))); break;
            case 'C': push(str(Kind::Bytes, le(1))); break;
            case 0x8e: push(str(Kind::Bytes, le(8))); break;
            case '}': push(make(Kind::Dict)); break;
            case ']': push(make(Kind::List)); break;
            case ')': push(make(Kind::Tuple)); break;
            case 't': case 'l': {
                auto v = make(op == 't' ? Kind::Tuple : Kind::List);
                for (auto &x : pop_mark())
                    add(v, x);
                push(v);
                break;
            }
            case 'd': {
                auto v = make(Kind::Dict);
                set_items(v, pop_mark());
                push(v);
                break;
            }
            case 0x85: case 0x86: case 0x87: {
                size_t n = op - 0x84u;
                auto v = make(Kind::Tuple);
                need(n);
                for (size_t k = stack_.size() - n; k < stack_.size(); k++)
                    add(v, stack_[k]);
                stack_.resize(stack_.size() - n);
                push(v);
                break;
            }
            case 'a': { auto x = pop(); add(container(Kind::List), x); break; }
            case 'e': { auto xs = pop_mark(); auto l = container(Kind::List); for (auto &x : xs) add(l, x); break; }
            case 's': {
                auto v = pop(), k = pop();
                set_items(container(Kind::Dict), {k, v});
                break;
            }
            case 'u': { auto xs = pop_mark(); set_items(container(Kind::Dict), xs); break; }
            case 'q': memo(le(1)); break;
            case 'r': memo(le(4)); break;
            case 0x94: memo(memo_.size()); break;
            case 'h': push(get(le(1))); break;
            case 'j': push(get(le(4))); break;
            case 'c': {
                std::string mod = line(), name = line();
                push(global(mod, name));
                break;
            }
            case 0x93: {
                auto name = pop(), mod = pop();
                if (name->kind != Kind::Str || mod->kind != Kind::Str)
                    bad("STACK_GLOBAL without two strings");
                push(global(mod->s, name->s));
                break;
            }
            case 'R': {
                auto args = pop(), fn = pop();
                push(reduce(fn, args));
                break;
            }
            case 'b': {
                // BUILD sets an object's state: for a state dict's
                // OrderedDict that is its `_metadata` (layer versions),
                // for a tensor its Python attributes; neither is a weight.
                auto state = pop();
                need(1);
                Kind k = stack_.back()->kind;
                if (k == Kind::Object) {
                    // A module's state is its __dict__; anything else
                    // (slots, a custom __setstate__ payload) is refused.
                    if (state->kind != Kind::Dict)
                        bad("BUILD of a %.100s with a state that is not a dict", stack_.back()->s.c_str());
                    if (state->depth + 1 > kMaxDepth)
                        bad("containers nested more than %d deep", kMaxDepth);
                    auto &obj = stack_.back();
                    obj->items.assign(1, state);
                    obj->depth = std::max(obj->depth, state->depth + 1);
                    break;
                }
                if (k != Kind::Dict && k != Kind::Tensor)
                    bad("BUILD on a value that is not a dict or tensor");
                break;
            }
            case 'Q': push(persistent(pop())); break;
            case 0x81: {
                auto args = pop(), cls = pop();
                if (!modules_)
                    bad("an object is constructed with NEWOBJ: the file holds Python objects");
                if (cls->kind != Kind::Global || cls->i != 1)
                    bad("NEWOBJ of something other than an allowed module class");
                if (args->kind != Kind::Tuple || !args->items.empty())
                    bad("NEWOBJ of %.100s with arguments", cls->s.c_str());
                auto v = make(Kind::Object);
                v->s = cls->s.substr(cls->s.rfind('.') + 1);
                containers_.push_back(v);
                push(v);
                break;
            }
            case 0x92:
                bad("an object is constructed with NEWOBJ_EX: the file holds Python objects");
                break;
            default:
                bad("unsupported pickle opcode 0x%02x at byte %zu", op, at);
            }
        }
    }

  private:
    const std::string &what_;
    const std::vector<char> &data_;
    RecordFn record_;
    size_t pos_ = 0;
    std::vector<ValP> stack_;
    std::vector<size_t> marks_;
    std::vector<ValP> memo_;
    std::map<std::string, at::Tensor> storages_;
    std::vector<ValP> containers_;
    bool modules_;

    [[noreturn]] __attribute__((format(printf, 2, 3))) void bad(const char *fmt, ...)
    {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        throw BadFile(what_ + ": damaged or unsupported checkpoint: " + msg,
                      "download the file again, or re-export it from Python with "
                      "safetensors.torch.save_file(model.state_dict(), \"model.safetensors\")");
    }

    uint8_t u8()
    {
        if (pos_ >= data_.size())
            bad("the pickle is truncated");
        return (uint8_t)data_[pos_++];
    }
    const char *bytes(uint64_t n)
    {
        if (n > data_.size() - pos_)
            bad("the pickle is truncated (a %llu-byte field at byte %zu)", (unsigned long long)n, pos_);
        const char *p = data_.data() + pos_;
        pos_ += n;
        return p;
    }
    uint64_t le(int n)
    {
        const unsigned char *p = (const unsigned char *)bytes(n);
        uint64_t v = 0;
        for (int k = n - 1; k >= 0; k--)
            v = v << 8 | p[k];
        return v;
    }
    ValP long1()
    {
        size_t n = u8();
        if (n > 8)
            bad("an integer of %zu bytes", n);
        const unsigned char *p = (const unsigned char *)bytes(n);
        uint64_t v = 0;
        for (size_t k = n; k-- > 0;)
            v = v << 8 | p[k];
        if (n > 0 && n < 8 && (p[n - 1] & 0x80))
            v |= ~0ull << (8 * n); // sign-extend
        auto r = make(Kind::Int);
        r->i = (int64_t)v;
        return r;
    }
    ValP str(Kind k, uint64_t n)
    {
        auto v = make(k);
        v->s.assign(bytes(n), n);
        return v;
    }
    std::string line()
    {
        size_t start = pos_;
        while (u8() != '\n') {
        }
        return std::string(data_.data() + start, pos_ - start - 1);
    }
    void push(ValP v)
    {
        if (v->kind == Kind::Tuple || v->kind == Kind::List || v->kind == Kind::Dict)
            containers_.push_back(v);
        stack_.push_back(std::move(v));
    }
    void need(size_t n)
    {
        if (stack_.size() < n || (!marks_.empty() && stack_.size() - marks_.back() < n))
            bad("the pickle's stack underflows");
    }
    ValP pop()
    {
        need(1);
        auto v = stack_.back();
        stack_.pop_back();
        return v;
    }
    std::vector<ValP> pop_mark()
    {
        if (marks_.empty())
            bad("the pickle's MARK is missing");
        size_t m = marks_.back();
        marks_.pop_back();
        std::vector<ValP> xs(stack_.begin() + (ptrdiff_t)m, stack_.end());
        stack_.resize(m);
        return xs;
    }
    ValP container(Kind k)
    {
        need(1);
        if (stack_.back()->kind != k)
            bad("items added to something that is not a %s", k == Kind::List ? "list" : "dict");
        return stack_.back();
    }
    void add(const ValP &c, const ValP &x)
    {
        if (x->depth + 1 > kMaxDepth)
            bad("containers nested more than %d deep", kMaxDepth);
        c->depth = std::max(c->depth, x->depth + 1);
        c->items.push_back(x);
    }
    void set_items(const ValP &d, const std::vector<ValP> &kv)
    {
        if (kv.size() % 2)
            bad("a dict with an odd number of keys and values");
        for (size_t k = 0; k < kv.size(); k += 2) {
            if (kv[k + 1]->depth + 1 > kMaxDepth)
                bad("containers nested more than %d deep", kMaxDepth);
            d->depth = std::max(d->depth, kv[k + 1]->depth + 1);
            d->dict.emplace_back(kv[k], kv[k + 1]); // a repeated key is caught when flattening
        }
    }
    void memo(uint64_t id)
    {
        need(1);
        if (id > data_.size())
            bad("a memo index past the pickle's size");
        if (memo_.size() <= id)
            memo_.resize(id + 1);
        memo_[id] = stack_.back();
    }
    ValP get(uint64_t id)
    {
        if (id >= memo_.size() || !memo_[id])
            bad("a memo reference to nothing");
        return memo_[id];
    }

    ValP global(const std::string &mod, const std::string &name)
    {
        std::string full = mod + "." + name;
        at::ScalarType t;
        bool ok = storage_type(full, &t);
        for (const char *g : kAllowedGlobals)
            ok = ok || full == g;
        bool cls = false;
        if (!ok && modules_) {
            cls = module_class(mod, name);
            ok = cls || full == "torch.Size" || full == "__builtin__.set" || full == "builtins.set";
            if (!ok && !(mod == "torch" && name.size() > 7 && name.compare(name.size() - 7, 7, "Storage") == 0)) {
                char msg[768];
                snprintf(msg, sizeof msg,
                         "%s: refused to load %.200s: a checkpoint may reference only the classes of a YOLOv8 "
                         "module tree (Ultralytics' Conv, C2f, SPPF, Detect, ... and torch.nn's), nothing else, "
                         "and nothing in it is executed",
                         what_.c_str(), full.c_str());
                throw BadFile(msg, MODULES_FIX);
            }
        }
        if (!ok && mod == "torch" && name.size() > 7 && name.compare(name.size() - 7, 7, "Storage") == 0)
            bad("tensors of type %.100s are not supported (lab reads F32 F64 F16 BF16 I64 I32 I16 I8 U8 BOOL)",
                full.c_str());
        if (!ok) {
            bool script = mod.rfind("__torch__", 0) == 0;
            char msg[768];
            snprintf(msg, sizeof msg, "%s holds %s, not a plain state dict of tensors (it pickles %.200s)",
                     what_.c_str(), script ? "a TorchScript module (torch.jit.save)" : "Python objects", full.c_str());
            throw BadFile(msg, script ? SCRIPT_FIX : OBJECT_FIX);
        }
        auto v = make(Kind::Global);
        v->s = full;
        v->i = cls ? 1 : 0;
        return v;
    }

    ValP persistent(const ValP &pid)
    {
        // ('storage', <storage type>, key, location, numel)
        if (pid->kind != Kind::Tuple || pid->items.size() < 5 || pid->items[0]->kind != Kind::Str ||
            pid->items[0]->s != "storage" || pid->items[1]->kind != Kind::Global || pid->items[2]->kind != Kind::Str)
            bad("a persistent id that is not a tensor storage");
        at::ScalarType type;
        if (!storage_type(pid->items[1]->s, &type))
            bad("storage type %.100s is not supported", pid->items[1]->s.c_str());
        const std::string &key = pid->items[2]->s;
        auto it = storages_.find(key);
        if (it == storages_.end()) {
            auto r = record_(key);
            size_t el = at::elementSize(type), n = std::get<1>(r);
            if (n % el)
                bad("storage %.100s has %zu bytes, not a whole number of %zu-byte elements", key.c_str(), n, el);
            // An oversized storage: its header claims more than the file holds.
            if (pid->items[4]->kind == Kind::Int && (pid->items[4]->i < 0 || (uint64_t)pid->items[4]->i > n / el))
                bad("storage %.100s claims %lld elements but the file holds %zu", key.c_str(),
                    (long long)pid->items[4]->i, n / el);
            // The record's buffer becomes the storage, without a copy.
            auto holder = std::make_shared<at::DataPtr>(std::move(std::get<0>(r)));
            at::TensorOptions opts = at::TensorOptions().dtype(type);
            at::Tensor s = n && holder->get() ? at::from_blob(
                                                    holder->get(), {(int64_t)(n / el)},
                                                    [holder](void *) mutable { holder.reset(); }, opts)
                                              : at::empty({0}, opts);
            it = storages_.emplace(key, s).first;
        } else if (it->second.scalar_type() != type) {
            bad("storage %.100s is used with two dtypes", key.c_str());
        }
        auto v = make(Kind::Storage);
        v->tensor = it->second;
        return v;
    }

    std::vector<int64_t> ints(const ValP &t, const char *what)
    {
        if (t->kind != Kind::Tuple && t->kind != Kind::List)
            bad("a tensor's %s is not a tuple", what);
        std::vector<int64_t> r;
        for (auto &x : t->items) {
            if (x->kind != Kind::Int || x->i < 0)
                bad("a tensor's %s holds something other than a non-negative integer", what);
            r.push_back(x->i);
        }
        return r;
    }

    ValP reduce(const ValP &fn, const ValP &args)
    {
        if (fn->kind != Kind::Global || args->kind != Kind::Tuple)
            bad("a call to something other than an allowed function");
        const auto &a = args->items;
        if (fn->i == 1) {
            // SimpleNamespace pickles as cls() then BUILD: the same empty
            // record NEWOBJ makes. A class called with arguments would run
            // its constructor, which is never done here.
            if (!a.empty())
                bad("a call to the class %.100s with arguments (classes are only rebuilt from their state)",
                    fn->s.c_str());
            auto v = make(Kind::Object);
            v->s = fn->s.substr(fn->s.rfind('.') + 1);
            containers_.push_back(v);
            return v;
        }
        if (fn->s == "torch.Size") {
            // torch.Size((h, w)): a shape, kept as a tuple.
            if (a.size() != 1 || a[0]->kind != Kind::Tuple)
                bad("torch.Size without one tuple");
            return a[0];
        }
        if (fn->s == "__builtin__.set" || fn->s == "builtins.set") {
            // set(list): kept as a list (a module's non-persistent buffer names).
            auto v = make(Kind::List);
            if (a.size() > 1 || (a.size() == 1 && a[0]->kind != Kind::List))
                bad("set() of something other than a list");
            if (a.size() == 1)
                for (auto &x : a[0]->items)
                    add(v, x);
            containers_.push_back(v);
            return v;
        }
        if (fn->s == "collections.OrderedDict") {
            if (!a.empty())
                bad("OrderedDict called with arguments");
            return make(Kind::Dict);
        }
        if (fn->s == "torch._utils._rebuild_parameter" || fn->s == "torch._utils._rebuild_parameter_with_state") {
            if (a.empty() || a[0]->kind != Kind::Tensor)
                bad("a Parameter without a tensor");
            return a[0];
        }
        if (fn->s == "torch._utils._rebuild_tensor_v2" || fn->s == "torch._utils._rebuild_tensor") {
            if (a.size() < 4 || a[0]->kind != Kind::Storage || a[1]->kind != Kind::Int)
                bad("a tensor without storage and offset");
            auto size = ints(a[2], "size"), stride = ints(a[3], "stride");
            if (size.size() != stride.size())
                bad("a tensor with %zu sizes but %zu strides", size.size(), stride.size());
            if (size.size() > ST_MAX_DIMS)
                bad("a tensor with %zu dimensions (at most %d are supported)", size.size(), ST_MAX_DIMS);
            // The view must lie inside its storage: check with overflow-safe
            // arithmetic before libtorch touches it.
            int64_t off = a[1]->i, storage_n = a[0]->tensor.numel();
            uint64_t last = (uint64_t)off, count = 1;
            bool overflow = off < 0;
            for (size_t d = 0; d < size.size(); d++) {
                uint64_t span;
                overflow |= __builtin_mul_overflow(count, (uint64_t)size[d], &count);
                if (size[d] > 0) {
                    overflow |= __builtin_mul_overflow((uint64_t)(size[d] - 1), (uint64_t)stride[d], &span);
                    overflow |= __builtin_add_overflow(last, span, &last);
                }
            }
            if (overflow || (count > 0 && last >= (uint64_t)storage_n))
                bad("a tensor of shape %s lies outside its %lld-element storage", shape_str(size).c_str(),
                    (long long)storage_n);
            auto v = make(Kind::Tensor);
            if (count == 0)
                v->tensor = at::empty(size, a[0]->tensor.options());
            else
                v->tensor = a[0]->tensor.as_strided(size, stride, off).contiguous();
            return v;
        }
        bad("a call to %.100s", fn->s.c_str());
    }

    static std::string shape_str(const std::vector<int64_t> &s)
    {
        std::string r = "[";
        for (size_t k = 0; k < s.size(); k++)
            r += (k ? ", " : "") + std::to_string(s[k]);
        return r + "]";
    }
};

} // namespace

struct pth_file {
    std::vector<at::Tensor> tensors;
    std::vector<std::string> names;
    std::vector<pth_tensor> views;
    std::vector<std::string> skipped;
    std::vector<std::pair<std::string, std::string>> modules; // PTH_MODULES: key -> class name
};

namespace {

struct Flat {
    pth_file *f;
    const std::string &what;
    std::unordered_set<std::string> seen;

    void add(const std::string &name, const at::Tensor &t)
    {
        if (!seen.insert(name).second)
            throw BadFile(what + ": the name '" + name.substr(0, 100) + "' is given to two tensors", EXPORT_FIX);
        f->names.push_back(name);
        f->tensors.push_back(t);
    }
};

void flatten(Flat &fl, const std::string &prefix, const ValP &v, int depth);

ValP attr(const ValP &obj, const char *name)
{
    if (obj->items.empty())
        return nullptr;
    for (auto &kv : obj->items[0]->dict)
        if (kv.first->kind == Kind::Str && kv.first->s == name)
            return kv.second;
    return nullptr;
}

// A module object flattens to its state_dict(): its own _parameters, then
// its persistent _buffers, then each child in _modules (None entries, such
// as a Conv2d's absent bias, are not entries). Other attributes are not
// weights; a namespace (model.args) holds none.
void flatten_module(Flat &fl, const std::string &prefix, const ValP &obj, int depth)
{
    if (obj->s == "IterableSimpleNamespace") {
        fl.f->skipped.push_back(prefix);
        return;
    }
    if (obj->items.empty())
        throw BadFile(fl.what + ": a " + obj->s + " module without its state", EXPORT_FIX);
    fl.f->modules.emplace_back(prefix, obj->s);
    auto key_of = [&](const ValP &k) {
        if (k->kind != Kind::Str)
            throw BadFile(fl.what + ": a module entry whose name is not a string", EXPORT_FIX);
        return prefix.empty() ? k->s : prefix + "." + k->s;
    };
    ValP skip = attr(obj, "_non_persistent_buffers_set");
    for (const char *part : {"_parameters", "_buffers"}) {
        ValP d = attr(obj, part);
        if (!d)
            continue;
        if (d->kind != Kind::Dict)
            throw BadFile(fl.what + ": a module's " + part + " is not a dict", EXPORT_FIX);
        for (auto &kv : d->dict) {
            if (kv.second->kind == Kind::None)
                continue;
            bool transient = false;
            for (size_t k = 0; skip && k < skip->items.size(); k++)
                transient |= kv.first->kind == Kind::Str && skip->items[k]->kind == Kind::Str &&
                             skip->items[k]->s == kv.first->s;
            if (transient)
                continue;
            if (kv.second->kind != Kind::Tensor)
                throw BadFile(fl.what + ": a module's " + part + " entry is not a tensor", EXPORT_FIX);
            fl.add(key_of(kv.first), kv.second->tensor);
        }
    }
    ValP mods = attr(obj, "_modules");
    if (!mods)
        return;
    if (mods->kind != Kind::Dict)
        throw BadFile(fl.what + ": a module's _modules is not a dict", EXPORT_FIX);
    for (auto &kv : mods->dict) {
        if (kv.second->kind == Kind::None)
            continue;
        if (kv.second->kind != Kind::Object)
            throw BadFile(fl.what + ": a child module that is not a module", EXPORT_FIX);
        flatten(fl, key_of(kv.first), kv.second, depth + 1);
    }
}

// depth guards against a container that the pickle's memo made hold itself.
void flatten(Flat &fl, const std::string &prefix, const ValP &v, int depth)
{
    pth_file *f = fl.f;
    const std::string &what = fl.what;
    if (depth > kMaxDepth)
        throw BadFile(what + ": containers nested more than " + std::to_string(kMaxDepth) + " deep", EXPORT_FIX);
    switch (v->kind) {
    case Kind::Tensor:
        fl.add(prefix, v->tensor);
        return;
    case Kind::Dict:
        for (auto &kv : v->dict) {
            std::string key;
            if (kv.first->kind == Kind::Str)
                key = kv.first->s;
            else if (kv.first->kind == Kind::Int)
                key = std::to_string(kv.first->i);
            else
                throw BadFile(what + ": a dict key is neither a string nor an integer", EXPORT_FIX);
            flatten(fl, prefix.empty() ? key : prefix + "." + key, kv.second, depth + 1);
        }
        return;
    case Kind::List:
    case Kind::Tuple:
        for (size_t k = 0; k < v->items.size(); k++)
            flatten(fl, prefix.empty() ? std::to_string(k) : prefix + "." + std::to_string(k), v->items[k],
                    depth + 1);
        return;
    case Kind::Object:
        flatten_module(fl, prefix, v, depth);
        return;
    case Kind::Storage:
    case Kind::Global:
        throw BadFile(what + ": holds a bare storage or function, not a state dict of tensors", EXPORT_FIX);
    default:
        f->skipped.push_back(prefix);
    }
}

int finish(const std::string &what, const ValP &root, pth_file **out)
{
    if (root->kind != Kind::Dict)
        throw BadFile(what + ": holds no dict of tensors (torch.save of a single tensor or list?)", EXPORT_FIX);
    auto f = std::make_unique<pth_file>();
    Flat fl{f.get(), what, {}};
    flatten(fl, "", root, 0);
    f->views.resize(f->tensors.size());
    for (size_t k = 0; k < f->tensors.size(); k++) {
        const at::Tensor &t = f->tensors[k];
        pth_tensor &v = f->views[k];
        v.name = f->names[k].c_str();
        v.dtype = to_st(t.scalar_type());
        v.ndim = (int)t.dim();
        for (int d = 0; d < v.ndim; d++)
            v.shape[d] = t.size(d);
        v.data = t.data_ptr();
        v.nbytes = (size_t)t.nbytes();
    }
    *out = f.release();
    return LAB_OK;
}

int load(const char *path, unsigned flags, pth_file **out)
{
    std::string what = path;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return lab_err(LAB_EENV, "check the path and its permissions", "cannot open %s: %s", path, strerror(errno));
    unsigned char magic[4] = {0};
    size_t got = fread(magic, 1, 4, fp);
    fclose(fp);
    if (got < 4 || memcmp(magic, "PK\3\4", 4) != 0) {
        if (got >= 2 && magic[0] == 0x80 && magic[1] <= 5)
            return lab_err(LAB_EUSAGE,
                           "re-save it with a PyTorch >= 1.6: torch.save(torch.load(old), new), or export "
                           "safetensors.torch.save_file(torch.load(old), \"model.safetensors\")",
                           "%s is a legacy (pre-1.6, non-zip) torch.save file, which lab does not read", path);
        return lab_err(LAB_EUSAGE, "give a checkpoint written by torch.save, or a .safetensors file",
                       "%s is not a PyTorch checkpoint (not a zip archive)", path);
    }
    caffe2::serialize::PyTorchStreamReader zip(what);
    if (!zip.hasRecord("data.pkl"))
        return lab_err(LAB_EUSAGE, "give a checkpoint written by torch.save, or a .safetensors file",
                       "%s is a zip archive without data.pkl: not a torch.save checkpoint", path);
    auto rec = zip.getRecord("data.pkl");
    const char *p = (const char *)std::get<0>(rec).get();
    std::vector<char> pickle(p, p + std::get<1>(rec));
    auto record = [&](const std::string &key) {
        std::string name = "data/" + key;
        if (!zip.hasRecord(name))
            throw BadFile(what + ": damaged checkpoint: storage record " + name.substr(0, 100) + " is missing");
        return zip.getRecord(name);
    };
    Unpickler u(what, pickle, record, flags);
    return finish(what, u.run(), out);
}

int load_pickle(const void *pickle, size_t len, size_t storage_bytes, unsigned flags, pth_file **out)
{
    std::string what = "<pickle>";
    std::vector<char> data((const char *)pickle, (const char *)pickle + len);
    auto record = [&](const std::string &) {
        void *mem = calloc(storage_bytes ? storage_bytes : 1, 1);
        if (!mem)
            throw std::bad_alloc();
        return std::make_tuple(at::DataPtr(mem, mem, free, at::kCPU), storage_bytes);
    };
    Unpickler u(what, data, record, flags);
    return finish(what, u.run(), out);
}

} // namespace

extern "C" int pth_load(const char *path, pth_file **out) { return pth_load_ex(path, 0, out); }

extern "C" int pth_load_ex(const char *path, unsigned flags, pth_file **out)
{
    *out = nullptr;
    try {
        return load(path, flags, out);
    } catch (const BadFile &e) {
        return lab_err(e.status, e.fix, "%s", e.what());
    } catch (const c10::Error &e) {
        // libtorch's zip reader: a damaged or truncated archive.
        return lab_err(LAB_EUSAGE, "download the file again",
                       "%s: damaged checkpoint archive: %s", path, e.what_without_backtrace());
    } catch (const std::bad_alloc &) {
        return lab_err(LAB_EINTERNAL, NULL, "out of memory loading %s", path);
    } catch (const std::exception &e) {
        return lab_err(LAB_EINTERNAL, NULL, "loading %s: %s", path, e.what());
    } catch (...) {
        return lab_err(LAB_EINTERNAL, NULL, "loading %s: unknown error", path);
    }
}

extern "C" int pth_load_pickle(const void *pickle, size_t len, size_t storage_bytes, pth_file **out)
{
    return pth_load_pickle_ex(pickle, len, storage_bytes, 0, out);
}

extern "C" int pth_load_pickle_ex(const void *pickle, size_t len, size_t storage_bytes, unsigned flags,
                                  pth_file **out)
{
    *out = nullptr;
    try {
        return load_pickle(pickle, len, storage_bytes, flags, out);
    } catch (const BadFile &e) {
        return lab_err(e.status, e.fix, "%s", e.what());
    } catch (const c10::Error &e) {
        return lab_err(LAB_EUSAGE, NULL, "<pickle>: %s", e.what_without_backtrace());
    } catch (const std::bad_alloc &) {
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    } catch (const std::exception &e) {
        return lab_err(LAB_EINTERNAL, NULL, "<pickle>: %s", e.what());
    } catch (...) {
        return lab_err(LAB_EINTERNAL, NULL, "<pickle>: unknown error");
    }
}

extern "C" void pth_free(pth_file *f) { delete f; }

extern "C" size_t pth_count(const pth_file *f) { return f ? f->views.size() : 0; }

extern "C" const pth_tensor *pth_at(const pth_file *f, size_t i)
{
    return f && i < f->views.size() ? &f->views[i] : nullptr;
}

extern "C" const pth_tensor *pth_find(const pth_file *f, const char *name)
{
    if (!f || !name)
        return nullptr;
    for (const auto &v : f->views)
        if (strcmp(v.name, name) == 0)
            return &v;
    return nullptr;
}

extern "C" const char *pth_module_class(const pth_file *f, const char *key)
{
    if (!f || !key)
        return nullptr;
    for (const auto &m : f->modules)
        if (m.first == key)
            return m.second.c_str();
    return nullptr;
}

extern "C" size_t pth_skipped_count(const pth_file *f) { return f ? f->skipped.size() : 0; }

extern "C" const char *pth_skipped_at(const pth_file *f, size_t i)
{
    return f && i < f->skipped.size() ? f->skipped[i].c_str() : nullptr;
}
