import Hummingbird
import SQLKit
import SQLiteKit
import PostgresKit
import Crypto
import _CryptoExtras
import Yams
public enum StratusCoreVersion { public static let string = "0.1.0" }
