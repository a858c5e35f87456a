import CHDF5
import Foundation

/// Process-wide HDF5 setup and the small pieces of the C API that Swift cannot import directly.
enum HDF5Library {
    /// Must run on the calling thread before HDF5 calls. The Debian build is thread-safe, which
    /// makes the automatic error printing a per-thread setting, so silencing it once is not enough.
    static func prepare() {
        _ = initialised
        H5Eset_auto2(defaultID, nil, nil)
    }

    private static let initialised: Bool = H5open() >= 0

    /// `H5P_DEFAULT`, `H5S_ALL` and `H5E_DEFAULT` are all `(hid_t)0` in the C headers.
    static let defaultID: hid_t = 0
    /// `H5F_ACC_*` flags are macros with side effects, so Swift does not see them.
    static let readOnly: UInt32 = 0x0000
    static let truncate: UInt32 = 0x0002

    /// The innermost message of the thread's HDF5 error stack (the most specific one), then clears it.
    static func lastErrorDetail() -> String? {
        final class Collected { var messages: [String] = [] }
        let collected = Collected()
        _ = withExtendedLifetime(collected) {
            H5Ewalk2(defaultID, H5E_WALK_DOWNWARD, { _, entry, context in
                guard let entry, let context, let text = entry.pointee.desc else { return 0 }
                Unmanaged<Collected>.fromOpaque(context).takeUnretainedValue().messages.append(String(cString: text))
                return 0
            }, Unmanaged.passUnretained(collected).toOpaque())
        }
        H5Eclear2(defaultID)
        return collected.messages.last
    }

    /// A transfer property list whose type conversions fail instead of silently clamping out-of-range values.
    static func strictConversionList() -> H5Handle {
        let list = H5Handle(H5Pcreate(H5P_CLS_DATASET_XFER_ID_g))
        H5Pset_type_conv_cb(list.id, { exception, _, _, _, _, _ in
            exception == H5T_CONV_EXCEPT_RANGE_HI || exception == H5T_CONV_EXCEPT_RANGE_LOW
                ? H5T_CONV_ABORT : H5T_CONV_UNHANDLED
        }, nil)
        return list
    }
}

/// An HDF5 identifier closed exactly once: when it goes out of scope, or by `close()` where the
/// caller must know whether closing worked (closing a dataset writes its cached chunks).
///
/// Each kind is closed with its own function (`H5Dclose`, `H5Fclose`, …), never `H5Idec_ref` or
/// `H5Oclose`: only the kind's own close removes the identifier even when closing fails. The
/// others keep an identifier whose close failed (a dataset whose chunks could not be written to
/// a full disk) half torn down, and HDF5 closes it a second time at exit: a segmentation fault.
struct H5Handle: ~Copyable {
    let id: hid_t
    init(_ id: hid_t) { self.id = id }
    var isValid: Bool { id >= 0 }

    /// Closes now; a negative status means the close failed (the identifier is gone all the same).
    consuming func close() -> herr_t {
        let status = Self.release(id)
        discard self
        return status
    }

    deinit { _ = Self.release(id) }

    private static func release(_ id: hid_t) -> herr_t {
        guard id >= 0 else { return 0 }
        switch H5Iget_type(id) {
        case H5I_FILE: return H5Fclose(id)
        case H5I_GROUP: return H5Gclose(id)
        case H5I_DATASET: return H5Dclose(id)
        case H5I_DATATYPE: return H5Tclose(id)
        case H5I_DATASPACE: return H5Sclose(id)
        case H5I_ATTR: return H5Aclose(id)
        case H5I_GENPROP_LST: return H5Pclose(id)
        default: return H5Idec_ref(id)
        }
    }
}

/// The element types the library stores, with their in-memory and on-disk HDF5 types.
protocol HDF5Number {
    static var memoryType: hid_t { get }
    static var storedType: hid_t { get }
    static var isFloatingPoint: Bool { get }
    static var typeName: String { get }
}

extension Float: HDF5Number {
    static var memoryType: hid_t { H5T_NATIVE_FLOAT_g }
    static var storedType: hid_t { H5T_IEEE_F32LE_g }
    static var isFloatingPoint: Bool { true }
    static var typeName: String { "float32" }
}

extension Double: HDF5Number {
    static var memoryType: hid_t { H5T_NATIVE_DOUBLE_g }
    static var storedType: hid_t { H5T_IEEE_F64LE_g }
    static var isFloatingPoint: Bool { true }
    static var typeName: String { "float64" }
}

extension UInt8: HDF5Number {
    static var memoryType: hid_t { H5T_NATIVE_UCHAR_g }
    static var storedType: hid_t { H5T_STD_U8LE_g }
    static var isFloatingPoint: Bool { false }
    static var typeName: String { "uint8" }
}

extension Int32: HDF5Number {
    static var memoryType: hid_t { H5T_NATIVE_INT_g }
    static var storedType: hid_t { H5T_STD_I32LE_g }
    static var isFloatingPoint: Bool { false }
    static var typeName: String { "int32" }
}

extension Int64: HDF5Number {
    static var memoryType: hid_t { H5T_NATIVE_LLONG_g }
    static var storedType: hid_t { H5T_STD_I64LE_g }
    static var isFloatingPoint: Bool { false }
    static var typeName: String { "int64" }
}
