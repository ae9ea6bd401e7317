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

/// Each region of [`REGIONS`] (same order): its display name and geography group, as
/// `GET /subscriptions/{s}/locations` shows them (`GetLocations.json` in the
/// Microsoft.Resources REST spec: `eastus`, "East US", "(US) East US", group "US"). The other
/// regions' names and groups follow the same pattern; a guess where the example shows none.
pub(crate) const DISPLAY: &[(&str, &str, &str)] = &[
    ("australiacentral", "Australia Central", "Asia Pacific"),
    ("australiacentral2", "Australia Central 2", "Asia Pacific"),
    ("australiaeast", "Australia East", "Asia Pacific"),
    ("australiasoutheast", "Australia Southeast", "Asia Pacific"),
    ("brazilsouth", "Brazil South", "South America"),
    ("brazilsoutheast", "Brazil Southeast", "South America"),
    ("canadacentral", "Canada Central", "Canada"),
    ("canadaeast", "Canada East", "Canada"),
    ("centralindia", "Central India", "Asia Pacific"),
    ("centralus", "Central US", "US"),
    ("eastasia", "East Asia", "Asia Pacific"),
    ("eastus", "East US", "US"),
    ("eastus2", "East US 2", "US"),
    ("francecentral", "France Central", "Europe"),
    ("francesouth", "France South", "Europe"),
    ("germanynorth", "Germany North", "Europe"),
    ("germanywestcentral", "Germany West Central", "Europe"),
    ("israelcentral", "Israel Central", "Middle East"),
    ("italynorth", "Italy North", "Europe"),
    ("japaneast", "Japan East", "Asia Pacific"),
    ("japanwest", "Japan West", "Asia Pacific"),
    ("koreacentral", "Korea Central", "Asia Pacific"),
    ("koreasouth", "Korea South", "Asia Pacific"),
    ("mexicocentral", "Mexico Central", "Mexico"),
    ("newzealandnorth", "New Zealand North", "Asia Pacific"),
    ("northcentralus", "North Central US", "US"),
    ("northeurope", "North Europe", "Europe"),
    ("norwayeast", "Norway East", "Europe"),
    ("norwaywest", "Norway West", "Europe"),
    ("polandcentral", "Poland Central", "Europe"),
    ("qatarcentral", "Qatar Central", "Middle East"),
    ("southafricanorth", "South Africa North", "Africa"),
    ("southafricawest", "South Africa West", "Africa"),
    ("southcentralus", "South Central US", "US"),
    ("southeastasia", "Southeast Asia", "Asia Pacific"),
    ("southindia", "South India", "Asia Pacific"),
    ("spaincentral", "Spain Central", "Europe"),
    ("swedencentral", "Sweden Central", "Europe"),
    ("switzerlandnorth", "Switzerland North", "Europe"),
    ("switzerlandwest", "Switzerland West", "Europe"),
    ("uaecentral", "UAE Central", "Middle East"),
    ("uaenorth", "UAE North", "Middle East"),
    ("uksouth", "UK South", "UK"),
    ("ukwest", "UK West", "UK"),
    ("westcentralus", "West Central US", "US"),
    ("westeurope", "West Europe", "Europe"),
    ("westindia", "West India", "Asia Pacific"),
    ("westus", "West US", "US"),
    ("westus2", "West US 2", "US"),
    ("westus3", "West US 3", "US"),
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
        assert!(
            REGIONS.iter().eq(DISPLAY.iter().map(|(n, _, _)| n)),
            "one display row each"
        );
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
