// The sample models of the package (Samples/models/*.swiftgraph), by name.

import Foundation

/// The sample model `name`: Samples/models/NAME.swiftgraph.
public func sampleModelURL(_ name: String) -> URL {
  packageRoot.appendingPathComponent("Samples/models/\(name).swiftgraph")
}
