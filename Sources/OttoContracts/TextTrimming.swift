extension String {
    /// The text without the Unicode white space (spaces, tabs, line breaks) around it. The contracts module uses
    /// only FoundationEssentials, which has no `trimmingCharacters(in:)`.
    package var trimmingWhitespace: Substring {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return self[endIndex..<endIndex] }
        return self[start...last]
    }
}
