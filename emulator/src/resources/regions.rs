//! Azure public-cloud region names, as ARM normalizes them (`East US 2` → `eastus2`).

/// The regions ARM accepts for resource groups and resources, sorted.
pub(crate) const REGIONS: &[&str] = &[
    "australiacentral",
    "australiacentral2",
    "australiaeast",
    "australiasoutheast",
    "brazilsouth",
    "brazilsoutheast",
    "canadacentral",
    "canadaeast",
    "centralindia",
    "centralus",
    "eastasia",
    "eastus",
    "eastus2",
    "francecentral",
    "francesouth",
    "germanynorth",
    "germanywestcentral",
    "israelcentral",
    "italynorth",
    "japaneast",
    "japanwest",
    "koreacentral",
    "koreasouth",
    "mexicocentral",
    "newzealandnorth",
    "northcentralus",
    "northeurope",
    "norwayeast",
    "norwaywest",
    "polandcentral",
    "qatarcentral",
    "southafricanorth",
    "southafricawest",
    "southcentralus",
    "southeastasia",
    "southindia",
    "spaincentral",
    "swedencentral",
    "switzerlandnorth",
    "switzerlandwest",
    "uaecentral",
    "uaenorth",
    "uksouth",
    "ukwest",
    "westcentralus",
    "westeurope",
    "westindia",
    "westus",
    "westus2",
    "westus3",
];

/// The normalized name of a region written either way (`eastus`, `East US`), if ARM knows it.
/// `global` is accepted when `allow_global` (resources such as DNS zones live there).
pub(crate) fn normalize(location: &str, allow_global: bool) -> Option<String> {
    let name: String = location
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    let known = REGIONS.binary_search(&name.as_str()).is_ok() || (allow_global && name == "global");
    known.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_and_short_names_normalize_alike() {
        assert!(REGIONS.windows(2).all(|w| w[0] < w[1]), "sorted");
        assert_eq!(normalize("East US 2", false).as_deref(), Some("eastus2"));
        assert_eq!(
            normalize("westeurope", false).as_deref(),
            Some("westeurope")
        );
        assert_eq!(normalize("global", false), None);
        assert_eq!(normalize("Global", true).as_deref(), Some("global"));
        assert_eq!(normalize("mars", true), None);
    }
}
