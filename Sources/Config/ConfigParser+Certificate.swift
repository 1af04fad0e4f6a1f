import TOMLKit

/// `[[certificate]]` tables: certificates referenced by path.
extension ConfigParser {
    func parseCertificateFiles(_ root: TOMLTable) -> [CertificateFileConfig] {
        guard let value = value(root, "certificate") else { return [] }
        guard value.type == .array, let array = value.array else {
            wrongType("certificate", expected: "an array of tables ([[certificate]])", got: value)
            return []
        }
        var result: [CertificateFileConfig] = []
        for index in 0..<array.count {
            let path = "certificate[\(index)]"
            let element: TOMLValueConvertible = array[index]
            guard element.type == .table, let table = element.table else {
                wrongType(path, expected: "a table", got: element)
                continue
            }
            rejectUnknownKeys(table, at: path, known: ["path", "key", "friendly_name", "services"])
            let file = nonEmptyString(table, "path", at: "\(path).path")
            let key = nonEmptyString(table, "key", at: "\(path).key")
            if !table.contains(key: "path") { report("\(path).path", "required: the PEM file with the certificate and its chain") }
            if !table.contains(key: "key") { report("\(path).key", "required: the PEM file with the private key") }
            var services = ["smtp", "imap", "pop"]
            if let entries = stringArray(table, "services", at: "\(path).services") {
                services = []
                for (position, name) in entries {
                    let lower = name.lowercased()
                    if CertificateFileConfig.knownServices.contains(lower) {
                        if !services.contains(lower) { services.append(lower) }
                    } else {
                        report("\(path).services[\(position)]", "unknown service \"\(name)\" (expected one of \(CertificateFileConfig.knownServices.joined(separator: ", ")))")
                    }
                }
            }
            if let file, let key {
                let name = string(table, "friendly_name", at: "\(path).friendly_name") ?? file
                result.append(CertificateFileConfig(path: file, key: key, friendlyName: name, services: services))
            }
        }
        return result
    }
}
